/**
 * `hostmesh proxy`: one node's proxy. The engine serves the mesh ports, the config client
 * follows the controller (serving the saved table first: fail static), the DNS responder answers
 * the mesh zones from whatever table the engine serves, and the admin server reports health,
 * readiness ("a table is applied"), metrics, the applied table and the client's status.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { errorMessage, HostmeshError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { AdminServer } from '../proxy/admin.ts';
import { ConfigClient } from '../proxy/config/client.ts';
import type { ApplyOutcome } from '../proxy/config/client.ts';
import type { BackoffOptions } from '../proxy/config/backoff.ts';
import { createDnsResponder } from '../proxy/dns/server.ts';
import type { DnsResponder } from '../proxy/dns/server.ts';
import { createProxyHost } from '../proxy/workers/host.ts';
import { LiveReporter } from '../proxy/live/reporter.ts';
import { hostmeshVersion } from '../common/version.ts';
import type { ProxyHost } from '../proxy/workers/types.ts';
import { DELTA_GAP } from '../table/index.ts';
import type { DnsConfig } from '../table/index.ts';
import type { TracingOptions } from '../proxy/tracing/index.ts';
import type { HostPort } from './args.ts';

export interface ProxyCommandOptions {
  controllerUrl: string | URL;
  node: string;
  token: string;
  stateDir: string;
  /** Address the mesh listeners bind to. */
  bind: string;
  admin: HostPort;
  dns: HostPort;
  workers: number | 'auto';
  /** On close: not ready at once, keep serving this long, then drain (default 0). */
  shutdownDelayMs?: number;
  /** How long in-flight requests get once the listeners stop accepting (default 20 s). */
  drainTimeoutMs?: number;
  /** Client plus backend connections at once (`--max-connections`); 0 or absent: from the open-file limit. */
  maxConnections?: number;
  accessLog: boolean;
  /** OTLP span export of sampled requests; off when absent. */
  tracing?: TracingOptions | undefined;
  log: Logger;
  /**
   * SO_REUSEPORT on the mesh listeners (default true): a new proxy binds the same ports while
   * the old one drains (a rollout), and several proxies can share a host as the e2e tests run.
   */
  reusePort?: boolean;
  /** Config client timings for tests; the defaults are the documented ones. */
  tuning?: { backoff?: BackoffOptions; idleTimeoutMs?: number; reportMs?: number };
}

export interface RunningProxy {
  readonly engine: ProxyHost;
  readonly admin: AdminServer;
  readonly dns: DnsResponder;
  readonly client: ConfigClient;
  /** Live stats and tap events to the controller. */
  readonly reporter: LiveReporter;
  readonly adminPort: number;
  readonly dnsPort: number;
  /**
   * The shutdown sequence: /readyz answers 503 at once, traffic is served as before for the
   * shutdown delay, then the listeners stop accepting and in-flight requests drain (idle
   * keep-alive connections are closed after a grace); DNS and admin close last.
   */
  close(): Promise<void>;
}

/** Answered until the first table arrives: every mesh name is NXDOMAIN, other names REFUSED. */
const NO_DNS: DnsConfig = { zones: ['hostmesh'], ttl: 5, services: [] };
const NODE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;

async function prepareStateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (e) {
    throw new HostmeshError('STATE_DIR_UNUSABLE', `the state directory ${dir} cannot be created or written: ${errorMessage(e)}`);
  }
}

export async function startProxyCommand(opts: ProxyCommandOptions): Promise<RunningProxy> {
  const { log } = opts;
  if (!NODE_NAME.test(opts.node)) {
    throw new HostmeshError('CLI_USAGE', `--node: "${opts.node}" is not a node name (letters, digits, '.', '-', '_', at most 253)`);
  }
  await prepareStateDir(opts.stateDir);

  const drainTimeoutMs = opts.drainTimeoutMs ?? 20_000;
  const limits = { drainTimeoutMs, drainIdleGraceMs: Math.min(drainTimeoutMs / 4, 2000), maxConnections: opts.maxConnections ?? 0 };
  const engine = await createProxyHost({ workers: opts.workers, host: opts.bind, reusePort: opts.reusePort ?? true, accessLog: opts.accessLog, tracing: opts.tracing, limits, log });
  const dns = createDnsResponder({ host: opts.dns.host, port: opts.dns.port, config: NO_DNS, log, registry: engine.registry });
  const outcome = (r: Awaited<ReturnType<ProxyHost['apply']>>): ApplyOutcome => {
    const current = engine.current;
    if (!r.ok || current === undefined) return { ok: false, error: r.ok ? 'no table applied' : r.error.message, gap: !r.ok && r.error.code === DELTA_GAP };
    // DNS answers what the engine serves: set only once the (now validated) table is in place,
    // and only when it changed (a delta that leaves the names alone keeps the same object).
    if (dns.config !== current.table.dns) dns.config = current.table.dns;
    return { ok: true, digest: r.digest, table: current.table };
  };
  const apply = async (table: unknown): Promise<ApplyOutcome> => outcome(await engine.apply(table));
  const applyDelta = async (delta: unknown): Promise<ApplyOutcome> => outcome(await engine.applyDelta(delta));
  const client = new ConfigClient({
    controllerUrl: opts.controllerUrl,
    node: opts.node,
    token: opts.token,
    stateDir: opts.stateDir,
    apply,
    applyDelta,
    log,
    ...(opts.tuning?.backoff ? { backoff: opts.tuning.backoff } : {}),
    ...(opts.tuning?.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: opts.tuning.idleTimeoutMs }),
  });
  const admin = new AdminServer({
    source: engine,
    host: opts.admin.host,
    port: opts.admin.port,
    token: opts.token,
    log,
    status: () => ({ node: opts.node, ...client.status() }),
  });

  let dnsPort: number;
  let step = `cannot listen on ${opts.admin.host}:${opts.admin.port} for the admin server`;
  try {
    // Ports first: a taken admin or DNS port stops the start before any mesh port opens.
    await admin.listen();
    step = 'mesh DNS';
    dnsPort = (await dns.listen()).udpPort;
    step = `the state directory ${opts.stateDir}`;
    await client.start();
  } catch (e) {
    await Promise.allSettled([client.stop(), admin.close(), dns.close(), engine.close()]);
    throw new HostmeshError('PROXY_START', `${step}: ${errorMessage(e)}`);
  }

  const reporter = new LiveReporter({
    controllerUrl: opts.controllerUrl,
    token: opts.token,
    node: opts.node,
    software: hostmeshVersion(),
    ready: () => engine.ready,
    source: engine,
    log,
    ...(opts.tuning?.reportMs === undefined ? {} : { intervalMs: opts.tuning.reportMs }),
  });
  reporter.start();

  let closing: Promise<void> | undefined;
  return {
    engine,
    admin,
    dns,
    client,
    reporter,
    adminPort: admin.port,
    dnsPort,
    close: () => {
      closing ??= (async () => {
        admin.draining = true;
        const delay = opts.shutdownDelayMs ?? 0;
        if (delay > 0) {
          log.info({ delayMs: delay }, 'shutting down: not ready; serving until the delay ends');
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
        log.info({ drainTimeoutMs }, 'shutting down: stopped accepting; draining requests in flight');
        await Promise.all([client.stop(), reporter.stop()]);
        await Promise.allSettled([engine.close(), dns.close()]);
        await admin.close();
      })();
      return closing;
    },
  };
}
