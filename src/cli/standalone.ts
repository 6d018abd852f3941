/**
 * `hostmesh standalone`: the standalone controller (src/controller/standalone.ts: manifests,
 * translation, publisher) feeding one in-process proxy on loopback, with the admin server and
 * the optional DNS responder.
 */
import { errorMessage, HostmeshError } from '../common/errors.ts';
import { createLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { registerProblemsGauge, registerVersionGauge } from '../controller/push/metrics.ts';
import { StandaloneController } from '../controller/standalone.ts';
import { createDashboard } from '../controller/dashboard/server.ts';
import { createLiveApi } from '../controller/live/api.ts';
import { LiveHub } from '../controller/live/hub.ts';
import { ReportBuilder } from '../proxy/live/report.ts';
import { hostmeshVersion } from '../common/version.ts';
import type { Diagnostic } from '../controller/translation/types.ts';
import type { AccessLogSink } from '../proxy/access-log.ts';
import { AdminServer, describeSplit } from '../proxy/admin.ts';
import { createDnsResponder } from '../proxy/dns/server.ts';
import type { DnsResponder } from '../proxy/dns/server.ts';
import type { ApplyResult } from '../proxy/engine.ts';
import type { ProxyLimits } from '../proxy/limits.ts';
import type { TracingOptions } from '../proxy/tracing/index.ts';
import { createProxyHost } from '../proxy/workers/host.ts';
import type { ProxyHost } from '../proxy/workers/types.ts';
import type { RoutingTable } from '../table/index.ts';
import type { HostPort } from './args.ts';

export interface StandaloneOptions {
  manifests: string;
  portRange: [number, number];
  admin: HostPort;
  dns?: HostPort | undefined;
  zones: string[];
  /** Where the port allocation and quarantine are kept across restarts (src/controller/standalone.ts). */
  stateDir?: string | undefined;
  /** ACL mode: SMI TrafficTargets decide who may use each mesh port (docs/smi.md). */
  acl?: boolean | undefined;
  token?: string | undefined;
  /** JSON access log: `true` for stdout, or a sink receiving the lines. */
  accessLog: boolean | AccessLogSink;
  /** OTLP span export of sampled requests; off when absent. */
  tracing?: TracingOptions | undefined;
  /** Proxy worker threads (`auto`: one per core); 1 (default) runs the proxy in this thread. */
  workers?: number | 'auto';
  log?: Logger;
  /** Where the banner and route changes are printed (stdout by default). */
  out?: (line: string) => void;
  /** Proxy limits other than the defaults (tests shorten the circuit breaker's durations). */
  limits?: Partial<ProxyLimits>;
}

export interface StandaloneMesh {
  /** The proxy: one engine, or the worker pool with `workers` > 1. */
  readonly engine: ProxyHost;
  readonly admin: AdminServer;
  readonly dns: DnsResponder | undefined;
  /** Live stats of the in-process proxy, and tap sessions. */
  readonly live: LiveHub;
  /** Resolves once the latest manifest change has been applied (or refused). */
  settled(): Promise<void>;
  diagnostics(): Diagnostic[];
  close(): Promise<void>;
}

/** Listen ports another process holds are skipped for this many tries before giving up. */
const MAX_PORT_RETRIES = 20;

export async function startStandalone(opts: StandaloneOptions): Promise<StandaloneMesh> {
  const log = opts.log ?? createLogger('hostmesh');
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const engine = await createProxyHost({ workers: opts.workers, host: '127.0.0.1', limits: opts.limits, log, accessLog: opts.accessLog, tracing: opts.tracing });
  // Ports in the range that another process holds are reserved as they are found.
  const controller = new StandaloneController({
    manifests: opts.manifests,
    portRange: opts.portRange,
    zones: opts.zones,
    acl: opts.acl === true,
    reservedPorts: [opts.admin.port, ...(opts.dns ? [opts.dns.port] : [])],
    stateDir: opts.stateDir,
    log,
  });
  const publisher = controller.publisher;
  let printed = '';

  let applying: Promise<void> = Promise.resolve();
  let retries = 0;
  const onTable = (table: RoutingTable): void => {
    applying = applying.then(async () => {
      const r = await engine.apply(table);
      if (r.ok) {
        retries = 0;
        printRoutes();
        return;
      }
      const port = busyPort(r);
      if (port !== undefined && retries < MAX_PORT_RETRIES) {
        retries++;
        log.warn({ port }, `port ${port} is in use by another process; allocating another one`);
        controller.reserve(port);
        return;
      }
      log.error({ error: r.error }, `routing table refused, the previous one keeps serving: ${r.error.message}`);
    });
  };
  const unsubscribe = publisher.subscribe((p) => onTable(p.table));

  const printRoutes = (): void => {
    const lines = engine.routes().map((r) => {
      const split = describeSplit(r);
      return `  ${r.route} -> ${r.listen} (${r.protocol}, ${r.endpoints} endpoint${r.endpoints === 1 ? '' : 's'}${split === undefined ? '' : `; split: ${split}`})`;
    });
    const text = lines.join('\n');
    if (text === printed) return;
    if (printed !== '') out('routes changed:');
    out(text === '' ? '  (no routes: add Services and EndpointSlices to the manifest directory)' : text);
    printed = text;
  };

  await controller.start().catch(async (e: unknown) => {
    // Worker threads would keep the process alive.
    unsubscribe();
    publisher.close();
    await engine.close();
    throw e;
  });

  // Live stats and tap: the in-process proxy reports to the hub directly, as a proxy reports
  // to the controller over HTTP.
  const live = new LiveHub({ reportMs: 1000, tapReportMs: 250 });
  const localReports = reportLocally(engine, live, log);
  const liveApi = createLiveApi({ hub: live, token: opts.token, log });
  const dashboard = createDashboard({
    source: {
      table: () => publisher.current?.table,
      proxies: () => {
        const applied = engine.current?.table.version;
        const lagVersions = applied === undefined ? undefined : Math.max(0, publisher.version - applied);
        return [{ node: 'standalone', connected: true, lagMs: 0, lastSeen: new Date().toISOString(), ...(applied === undefined ? {} : { appliedEpoch: publisher.epoch, appliedVersion: applied, lagVersions }) }];
      },
      diagnostics: () => controller.diagnostics(),
      live: () => live.stats(),
    },
    token: opts.token,
    log,
  });
  // What a controller exports of its state, on the admin server's /metrics: the published
  // version (so "versions behind" reads 0 here too) and the problem count.
  registerVersionGauge(engine.registry, () => publisher.version);
  registerProblemsGauge(engine.registry, () => controller.diagnostics());
  const admin = new AdminServer({
    source: engine,
    host: opts.admin.host,
    port: opts.admin.port,
    token: opts.token,
    log,
    status: () => ({ diagnostics: controller.diagnostics().filter((d) => d.severity !== 'info') }),
    extra: (req, res, path, search) => liveApi(req, res, path, search) || dashboard(req, res, path, search),
  });
  let dns: DnsResponder | undefined;
  let dnsPort = 0;
  try {
    await admin.listen();
    if (opts.dns) {
      dns = createDnsResponder({ host: opts.dns.host, port: opts.dns.port, config: { zones: opts.zones, ttl: 5, services: [] }, log, registry: engine.registry });
      dnsPort = (await dns.listen()).udpPort;
      const responder = dns;
      publisher.subscribe((p) => { responder.config = p.table.dns; });
    }
  } catch (e) {
    localReports.stop();
    dashboard.close();
    unsubscribe();
    await controller.stop();
    await Promise.allSettled([admin.close(), engine.close(), dns?.close()]);
    throw new HostmeshError('STANDALONE_START', errorMessage(e));
  }

  out(`hostmesh standalone: ${controller.source.snapshot().files} manifest file(s) from ${opts.manifests}`);
  controller.build();
  await publisher.flush();
  await applying;
  out(`admin: http://${opts.admin.host}:${admin.port} (/healthz /readyz /metrics /v1/routes /v1/status)`);
  out(`dashboard: http://${opts.admin.host}:${admin.port}/dashboard (live stats /v1/stats, tap /v1/tap)`);
  if (dns) out(`dns: ${opts.dns!.host}:${dnsPort} answers ${opts.zones.join(', ')} (UDP and TCP)`);

  return {
    engine,
    admin,
    dns,
    live,
    settled: async () => {
      await controller.settled();
      await applying;
    },
    diagnostics: () => controller.diagnostics(),
    close: async () => {
      localReports.stop();
      dashboard.close();
      unsubscribe();
      await controller.stop();
      await applying;
      await Promise.allSettled([admin.close(), dns?.close()]);
      await engine.close();
    },
  };
}

/** The in-process proxy's live reports, straight into the hub: every second, 4 a second while someone taps. */
function reportLocally(engine: ProxyHost, hub: LiveHub, log: Logger): { stop(): void } {
  const builder = new ReportBuilder({ node: 'standalone', software: hostmeshVersion(), ready: () => engine.ready });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async (): Promise<number> => {
    try {
      const sample = await engine.live(hub.answer().taps);
      return hub.report(builder.build(sample)).nextReportMs;
    } catch (e) {
      log.warn({ err: errorMessage(e) }, 'live stats: the proxy did not answer');
      return 1000;
    }
  };
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void tick().then(schedule), ms);
    timer.unref();
  };
  schedule(250);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function busyPort(r: ApplyResult): number | undefined {
  if (r.ok || r.error.code !== 'LISTENER_OPEN_FAILED' || !/EADDRINUSE|EACCES/.test(r.error.message)) return undefined;
  return r.error.port;
}
