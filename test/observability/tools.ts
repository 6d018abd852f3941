/**
 * Debian's `prometheus` package for the observability tests: `promtool` and `prometheus` when
 * installed (.ci/run installs them), else a skip reason naming the package.
 */
import { spawnSync } from 'node:child_process';

function has(binary: string): boolean {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

export const promtool = has('promtool');
export const prometheus = has('prometheus');
export const skipPromtool: string | false = promtool ? false : 'promtool not installed (Debian package prometheus: apt-get install -y prometheus)';
export const skipPrometheus: string | false = prometheus ? false : 'prometheus not installed (Debian package prometheus: apt-get install -y prometheus)';

export const examples = new URL('../../examples/observability/', import.meta.url).pathname;
export const chartFiles = new URL('../../charts/hostmesh/files/', import.meta.url).pathname;

export interface DashboardTarget {
  panel: string;
  expr: string;
}

interface Panel { title: string; type: string; targets?: { expr: string }[]; panels?: Panel[] }

/** Every query of a Grafana dashboard's panels (rows included), with its panel's title. */
export function dashboardTargets(dashboard: { panels: Panel[] }): DashboardTarget[] {
  const out: DashboardTarget[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ panel: p.title, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}
