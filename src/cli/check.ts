/**
 * `hostmesh check`: configuration problems, from one of these sources.
 * - `--pre` / `--cluster` (with a kubeconfig): checks against the cluster, one line each
 *   (check-cluster.ts).
 * - `--manifests DIR`: read the directory and translate it offline, exactly as standalone mode
 *   does, and print every diagnostic.
 * - `--controller URL --token-file F`: ask a running controller for `/v1/status` and print every
 *   proxy and every diagnostic.
 * Exit 0 when all is well, 1 when something needs attention; a check that cannot be made (bad
 * flags, unreadable directory, unreachable controller, refused token) exits 2.
 */
import { request } from 'undici';
import { errorMessage, HostmeshError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CheckLine, ClusterCheckOptions } from './check-cluster.ts';
import { STATUS_PATH } from '../table/index.ts';
import type { ControllerStatus } from '../table/index.ts';
import { loadManifests } from '../controller/source/manifests.ts';
import { translate } from '../controller/translation/translate.ts';
import { emptyMemory } from '../controller/translation/types.ts';
import { countDiagnostics, formatCounts, formatDiagnostic, formatStatus } from './check-format.ts';
import type { CheckDiagnostic } from './check-format.ts';

export interface CheckCommandOptions {
  manifests?: string | undefined;
  controller?: URL | undefined;
  token?: string | undefined;
  json: boolean;
  log: Logger;
  out: (line: string) => void;
  /** Longest wait for the controller's answer, ms (default 10 s). */
  timeoutMs?: number;
  /** Checks before installing (`--pre`) or of an installed release (`--cluster`). */
  pre?: boolean;
  cluster?: boolean;
  /** Loads the cluster credentials (only called for --pre and --cluster). */
  kubeConfig?: () => KubeConfig | Promise<KubeConfig>;
  /** The release namespace and the mesh zones, for --pre and --cluster. */
  namespace?: string;
  zones?: readonly string[];
  /** Tests: the custom resources to look for, and how long to wait for each proxy's DNS. */
  crds?: ClusterCheckOptions['crds'];
  dnsTimeoutMs?: number;
  /** ACL questions (`--can NS/SA --to NS/SVC[:PORT]`, with --manifests): see check-acl.ts. */
  can?: string | undefined;
  to?: string | undefined;
  path?: string | undefined;
  method?: string | undefined;
}

/** The port range translation allocates from: the cluster default, so no realistic directory exhausts it. */
const CHECK_PORT_RANGE: [number, number] = [10000, 30000];

function usage(message: string): HostmeshError {
  return new HostmeshError('CLI_USAGE', message);
}

export async function runCheckCommand(opts: CheckCommandOptions): Promise<number> {
  if (opts.can !== undefined || opts.to !== undefined || opts.path !== undefined || opts.method !== undefined) return checkAcl(opts);
  if (opts.pre === true || opts.cluster === true) return runClusterChecks(opts);
  if (opts.manifests !== undefined && opts.controller !== undefined) throw usage('give either --manifests DIR or --controller URL, not both');
  if (opts.manifests !== undefined) return checkManifests(opts, opts.manifests);
  if (opts.controller !== undefined) {
    if (opts.token === undefined) throw usage('--controller needs --token-file (the controller API needs the bearer token)');
    return checkController(opts, opts.controller, opts.token);
  }
  throw usage('give --manifests DIR (check manifests offline), --controller URL --token-file FILE (ask a running controller), --pre or --cluster (check a cluster)');
}

async function runClusterChecks(opts: CheckCommandOptions): Promise<number> {
  if (opts.pre === true && opts.cluster === true) throw usage('give either --pre (before installing) or --cluster (an installed release), not both');
  if (opts.manifests !== undefined) throw usage('--manifests checks a directory offline; it does not go with --pre or --cluster');
  if (opts.pre === true && opts.controller !== undefined) throw usage('--controller goes with --cluster (there is no controller before installing)');
  if (opts.controller !== undefined && opts.token === undefined) throw usage('--controller needs --token-file (the controller API needs the bearer token)');
  if (opts.kubeConfig === undefined) throw usage('--pre and --cluster need cluster credentials');
  const kubeConfig = await opts.kubeConfig();
  // Loaded here: the manifest and controller checks never need the Kubernetes client.
  const { checkCluster, formatCheckLine } = await import('./check-cluster.ts');
  const { controller, token } = opts;
  const proxies = controller !== undefined && token !== undefined
    ? async (): Promise<CheckLine> => {
      try {
        const status = await fetchStatus(opts, controller, token);
        const { problems } = formatStatus(controller.href.replace(/\/+$/, ''), status);
        if (problems.length > 0) return { state: 'fail', text: `proxies of the controller: ${problems.join('; ')}` };
        return { state: 'ok', text: `${status.proxies.length} proxies connected to the controller, all at version ${status.version}` };
      } catch (e) {
        return { state: 'fail', text: errorMessage(e) };
      }
    }
    : undefined;
  const lines = await checkCluster({
    kubeConfig, namespace: opts.namespace ?? 'hostmesh', zones: opts.zones ?? ['hostmesh'], pre: opts.pre === true,
    ...(proxies ? { proxies } : {}), ...(opts.crds ? { crds: opts.crds } : {}), ...(opts.dnsTimeoutMs === undefined ? {} : { dnsTimeoutMs: opts.dnsTimeoutMs }),
  });
  const failed = lines.filter((l) => l.state === 'fail').length;
  const warnings = lines.filter((l) => l.state === 'warn').length;
  if (opts.json) {
    opts.out(JSON.stringify({ checks: lines }, null, 2));
  } else {
    for (const l of lines) opts.out(formatCheckLine(l));
    const notes = lines.filter((l) => l.state === 'note').length;
    const extras = [warnings > 0 ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '', notes > 0 ? `${notes} note${notes === 1 ? '' : 's'}` : ''].filter((x) => x !== '');
    opts.out(failed > 0 ? `problems: ${failed} failed, ${warnings} warning${warnings === 1 ? '' : 's'}` : `ok: ${lines.length - notes} checks passed${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`);
  }
  return failed > 0 ? 1 : 0;
}

async function checkManifests(opts: CheckCommandOptions, dir: string): Promise<number> {
  // A broken file is one more problem to report, not the end of the check.
  const snapshot = await loadManifests(dir, opts.log, { brokenFiles: 'report' });
  const result = translate({
    state: snapshot.state,
    memory: emptyMemory(),
    ports: new Map(),
    options: { mode: 'standalone', portRange: CHECK_PORT_RANGE },
  });
  const diagnostics: CheckDiagnostic[] = [...snapshot.diagnostics, ...result.diagnostics];
  const counts = countDiagnostics(diagnostics);
  const failed = counts.errors + counts.warnings > 0;
  if (opts.json) {
    opts.out(JSON.stringify({
      manifests: dir,
      files: snapshot.files,
      services: snapshot.state.services.length,
      routes: result.content.routes.map((r) => r.id),
      diagnostics,
    }, null, 2));
    return failed ? 1 : 0;
  }
  opts.out(`${dir}: ${snapshot.files} manifest file(s), ${snapshot.state.services.length} Service(s), ${result.content.routes.length} route(s)`);
  for (const d of diagnostics) for (const line of formatDiagnostic(d)) opts.out(line);
  opts.out(failed ? `problems: ${formatCounts(counts)}` : 'ok: no problems found');
  return failed ? 1 : 0;
}

/** `--can NS/SA --to NS/SVC[:PORT]`: exit 0 when allowed (the request, with --path/--method), 1 when denied. */
async function checkAcl(opts: CheckCommandOptions): Promise<number> {
  if (opts.can === undefined || opts.to === undefined) throw usage('--can NS/SA and --to NS/SVC[:PORT] go together (with --manifests DIR); --path and --method need them');
  if (opts.manifests === undefined) throw usage('--can checks a manifest directory: give --manifests DIR');
  const { answerAccess, formatAccess } = await import('./check-acl.ts');
  const query = { source: opts.can, to: opts.to, path: opts.path, method: opts.method };
  const snapshot = await loadManifests(opts.manifests, opts.log, { brokenFiles: 'report' });
  const result = translate({ state: snapshot.state, memory: emptyMemory(), ports: new Map(), options: { mode: 'standalone', portRange: CHECK_PORT_RANGE, acl: true } });
  const answers = answerAccess(result.content.routes, query);
  if (opts.json) opts.out(JSON.stringify({ can: opts.can, to: opts.to, answers }, null, 2));
  else for (const line of formatAccess(query, answers)) opts.out(line);
  return answers.every((a) => a.allowed && (a.request === undefined || a.request.allowed)) ? 0 : 1;
}

async function checkController(opts: CheckCommandOptions, base: URL, token: string): Promise<number> {
  const status = await fetchStatus(opts, base, token);
  const { lines, problems } = formatStatus(base.href.replace(/\/+$/, ''), status);
  if (opts.json) opts.out(JSON.stringify(status, null, 2));
  else for (const line of lines) opts.out(line);
  return problems.length > 0 ? 1 : 0;
}

/** The controller's /v1/status; a HostmeshError naming the URL when it cannot be had. */
async function fetchStatus(opts: CheckCommandOptions, base: URL, token: string): Promise<ControllerStatus> {
  const url = `${base.href.replace(/\/+$/, '')}${STATUS_PATH}`;
  const timeout = opts.timeoutMs ?? 10_000;
  let statusCode: number;
  let text: string;
  try {
    // undici's request, not fetch: fetch refuses some ports (6000, 6665-6669, ...) a controller may use.
    const res = await request(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, headersTimeout: timeout, bodyTimeout: timeout });
    statusCode = res.statusCode;
    text = await res.body.text();
  } catch (e) {
    throw new HostmeshError('CHECK_UNREACHABLE', `cannot reach the controller at ${url}: ${errorMessage(e)}`);
  }
  if (statusCode === 401) throw new HostmeshError('CHECK_UNAUTHORIZED', `the controller at ${url} refused the token (401); check that the token file holds the controller's token`);
  if (statusCode !== 200) throw new HostmeshError('CHECK_STATUS', `the controller at ${url} answered ${statusCode}: ${text.slice(0, 300).trim()}`);
  let status: ControllerStatus;
  try {
    status = JSON.parse(text) as ControllerStatus;
  } catch (e) {
    throw new HostmeshError('CHECK_STATUS', `the controller at ${url} answered something that is not JSON: ${errorMessage(e)}`);
  }
  if (!Array.isArray(status.proxies) || !Array.isArray(status.diagnostics)) {
    throw new HostmeshError('CHECK_STATUS', `the answer of ${url} is not a controller status (no proxies and diagnostics lists)`);
  }
  return status;
}
