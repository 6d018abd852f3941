/**
 * `hostmesh standalone`: the standalone controller (src/controller/standalone.ts: manifests,
 * translation, publisher) feeding one in-process proxy on loopback, with the admin server and
 * the optional DNS responder.
 */
import { errorMessage, HostmeshError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import { registerProblemsGauge, registerVersionGauge } from '../controller/push/metrics.js';
import { StandaloneController } from '../controller/standalone.js';
import { createDashboard } from '../controller/dashboard/server.js';
import { createLiveApi } from '../controller/live/api.js';
import { LiveHub } from '../controller/live/hub.js';
import { ReportBuilder } from '../proxy/live/report.js';
import { hostmeshVersion } from '../common/version.js';
import { AdminServer, describeSplit } from '../proxy/admin.js';
import { createDnsResponder } from '../proxy/dns/server.js';
import { createProxyHost } from '../proxy/workers/host.js';
/** Listen ports another process holds are skipped for this many tries before giving up. */
const MAX_PORT_RETRIES = 20;
export async function startStandalone(opts) {
    const log = opts.log ?? createLogger('hostmesh');
    const out = opts.out ?? ((line) => process.stdout.write(`${line}\n`));
    const engine = await createProxyHost({ workers: opts.workers, host: '127.0.0.1', limits: opts.limits, log, accessLog: opts.accessLog, tracing: opts.tracing });
    // Ports in the range that another process holds are reserved as they are found.
    const controller = new StandaloneController({
        manifests: opts.manifests,
        portRange: opts.portRange,
        zones: opts.zones,
        reservedPorts: [opts.admin.port, ...(opts.dns ? [opts.dns.port] : [])],
        log,
    });
    const publisher = controller.publisher;
    let printed = '';
    let applying = Promise.resolve();
    let retries = 0;
    const onTable = (table) => {
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
    const printRoutes = () => {
        const lines = engine.routes().map((r) => {
            const split = describeSplit(r);
            return `  ${r.route} -> ${r.listen} (${r.protocol}, ${r.endpoints} endpoint${r.endpoints === 1 ? '' : 's'}${split === undefined ? '' : `; split: ${split}`})`;
        });
        const text = lines.join('\n');
        if (text === printed)
            return;
        if (printed !== '')
            out('routes changed:');
        out(text === '' ? '  (no routes: add Services and EndpointSlices to the manifest directory)' : text);
        printed = text;
    };
    await controller.start().catch(async (e) => {
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
    let dns;
    let dnsPort = 0;
    try {
        await admin.listen();
        if (opts.dns) {
            dns = createDnsResponder({ host: opts.dns.host, port: opts.dns.port, config: { zones: opts.zones, ttl: 5, services: [] }, log, registry: engine.registry });
            dnsPort = (await dns.listen()).udpPort;
            const responder = dns;
            publisher.subscribe((p) => { responder.config = p.table.dns; });
        }
    }
    catch (e) {
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
    if (dns)
        out(`dns: ${opts.dns.host}:${dnsPort} answers ${opts.zones.join(', ')} (UDP and TCP)`);
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
function reportLocally(engine, hub, log) {
    const builder = new ReportBuilder({ node: 'standalone', software: hostmeshVersion(), ready: () => engine.ready });
    let timer;
    let stopped = false;
    const tick = async () => {
        try {
            const sample = await engine.live(hub.answer().taps);
            return hub.report(builder.build(sample)).nextReportMs;
        }
        catch (e) {
            log.warn({ err: errorMessage(e) }, 'live stats: the proxy did not answer');
            return 1000;
        }
    };
    const schedule = (ms) => {
        if (stopped)
            return;
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
function busyPort(r) {
    if (r.ok || r.error.code !== 'LISTENER_OPEN_FAILED' || !/EADDRINUSE|EACCES/.test(r.error.message))
        return undefined;
    return r.error.port;
}
