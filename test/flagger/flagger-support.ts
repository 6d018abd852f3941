/**
 * Flagger's side of the Flagger tests: its MetricTemplate query rendering. Flagger runs a
 * template's query through Go's text/template with one function per model field (`name`,
 * `namespace`, `target`, `service`, `ingress`, `interval`), so `{{ namespace }}` is a call; an
 * unknown function is an error, never left in the query.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export interface MetricTemplateModel {
  name: string;
  namespace: string;
  target: string;
  service: string;
  ingress: string;
  interval: string;
}

export interface MetricTemplate {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { provider: { type: string; address?: string }; query: string };
}

const FIELDS = new Set(['name', 'namespace', 'target', 'service', 'ingress', 'interval']);

/** The query as Flagger sends it to the provider. */
export function renderQuery(query: string, model: MetricTemplateModel): string {
  return query.replace(/\{\{(-?)\s*([A-Za-z_][\w.]*)\s*(-?)\}\}/g, (_all, _l: string, fn: string) => {
    if (!FIELDS.has(fn)) throw new Error(`template: query: function "${fn}" not defined`);
    return model[fn as keyof MetricTemplateModel];
  }).replace(/\{\{[^}]*\}\}/g, (left) => { throw new Error(`template: unparsed action ${left}`); });
}

/** The MetricTemplates of a YAML file, by name. */
export function metricTemplates(path: string): Map<string, MetricTemplate> {
  const out = new Map<string, MetricTemplate>();
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const o = doc.toJS() as MetricTemplate | null;
    if (o?.kind === 'MetricTemplate') out.set(o.metadata.name, o);
  }
  return out;
}
