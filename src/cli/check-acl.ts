/**
 * `hostmesh check --manifests DIR --can NS/SA --to NS/SVC[:PORT] [--path P --method M]`: which
 * TrafficTargets let a ServiceAccount reach a Service port in ACL mode, from the same
 * translation standalone and the controller make (with ACL mode on), and, given a request,
 * whether the proxy would let it through (the proxy's own matcher decides).
 */
import type { IncomingMessage } from 'node:http';
import { describeRuleMatch } from '../table/index.ts';
import type { AccessSource, RouteEntry } from '../table/index.ts';
import { compileMatches, MatchInput } from '../proxy/stages/match.ts';
import { HostmeshError } from '../common/errors.ts';

export interface AccessQuery {
  /** `namespace/serviceAccount` of the client. */
  source: string;
  /** `namespace/service`, optionally `:port`. */
  to: string;
  path?: string | undefined;
  method?: string | undefined;
}

export interface AccessAnswer {
  route: string;
  protocol: string;
  allowed: boolean;
  /** The TrafficTargets that allow the source something on this port. */
  origins: string[];
  /** What the source may do (`every request` / `every connection`, or the matches). */
  scope: string;
  /** With --path/--method: the request asked about, and whether it passes. */
  request?: { method: string; path: string; allowed: boolean };
  /** Every TrafficTarget that allows anyone on this port (to see what is missing). */
  targets: string[];
}

const SOURCE = /^([^/\s]+)\/([^/\s]+)$/;
const DESTINATION = /^([^/\s]+)\/([^/:\s]+)(?::(\d{1,5}))?$/;

export function parseAccessQuery(q: AccessQuery): { namespace: string; serviceAccount: string; dest: { namespace: string; service: string; port: number | undefined } } {
  const s = SOURCE.exec(q.source);
  if (!s) throw new HostmeshError('CLI_USAGE', `--can must be NAMESPACE/SERVICEACCOUNT, got "${q.source}"`);
  const d = DESTINATION.exec(q.to);
  if (!d) throw new HostmeshError('CLI_USAGE', `--to must be NAMESPACE/SERVICE or NAMESPACE/SERVICE:PORT, got "${q.to}"`);
  if ((q.path !== undefined || q.method !== undefined) && !(q.path ?? '/').startsWith('/')) throw new HostmeshError('CLI_USAGE', `--path must start with /, got "${q.path}"`);
  return { namespace: s[1]!, serviceAccount: s[2]!, dest: { namespace: d[1]!, service: d[2]!, port: d[3] === undefined ? undefined : Number(d[3]) } };
}

/** The answer for every routed port of the destination (one port with `:PORT`). */
export function answerAccess(routes: readonly RouteEntry[], q: AccessQuery): AccessAnswer[] {
  const { namespace, serviceAccount, dest } = parseAccessQuery(q);
  const ports = routes.filter((r) => r.namespace === dest.namespace && r.service === dest.service && (dest.port === undefined || r.port === dest.port));
  if (ports.length === 0) throw new HostmeshError('CHECK_NOT_FOUND', `${q.to} is not a routed Service port of these manifests`);
  return ports.map((r) => {
    const allow = r.access?.allow ?? [];
    const targets = [...new Set(allow.flatMap((a) => a.origins ?? []))].toSorted();
    const entry = allow.find((a) => a.namespace === namespace && a.serviceAccount === serviceAccount);
    const answer: AccessAnswer = {
      route: r.id,
      protocol: r.protocol,
      allowed: entry !== undefined,
      origins: entry?.origins ?? [],
      scope: scopeOf(r, entry),
      targets,
    };
    if (q.path !== undefined || q.method !== undefined) {
      const method = (q.method ?? 'GET').toUpperCase();
      const path = q.path ?? '/';
      answer.request = { method, path, allowed: entry !== undefined && requestAllowed(entry, method, path) };
    }
    return answer;
  });
}

function scopeOf(r: RouteEntry, entry: AccessSource | undefined): string {
  if (entry === undefined) return 'nothing';
  if (entry.matches === undefined) return r.protocol === 'http' ? 'every request' : r.protocol === 'tcp' ? 'every connection' : 'every session';
  return describeRuleMatch({ matches: entry.matches });
}

function requestAllowed(entry: AccessSource, method: string, path: string): boolean {
  if (entry.matches === undefined) return true;
  const test = compileMatches(entry.matches, 'check', () => {});
  const input = new MatchInput();
  input.bind({ url: path, headers: {}, method, socket: {} } as unknown as IncomingMessage, method);
  return test(input);
}

/** Text lines for the answers. */
export function formatAccess(q: AccessQuery, answers: readonly AccessAnswer[]): string[] {
  const lines: string[] = [];
  for (const a of answers) {
    if (!a.allowed) {
      lines.push(`denied: ${q.source} -> ${a.route} (${a.protocol}): no TrafficTarget allows it`);
      lines.push(a.targets.length > 0 ? `  TrafficTargets for this port allow others: ${a.targets.join(', ')}` : '  no TrafficTarget names a ServiceAccount that runs this port\'s endpoints');
      continue;
    }
    lines.push(`${a.request === undefined || a.request.allowed ? 'allowed' : 'denied'}: ${q.source} -> ${a.route} (${a.protocol}) by ${a.origins.join(', ')}`);
    lines.push(`  allowed: ${a.scope}`);
    if (a.request !== undefined) lines.push(`  ${a.request.method} ${a.request.path}: ${a.request.allowed ? 'allowed' : 'denied (no allowed match holds)'}`);
  }
  return lines;
}
