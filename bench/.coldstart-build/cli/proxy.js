/**
 * `hostmesh proxy`: one node's proxy. The engine serves the mesh ports, the config client
 * follows the controller (serving the saved table first: fail static), the DNS responder answers
 * the mesh zones from whatever table the engine serves, and the admin server reports health,
 * readiness ("a table is applied"), metrics, the applied table and the client's status.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { errorMessage, HostmeshError } from '../common/errors.js';
import { AdminServer } from '../proxy/admin.js';
import { ConfigClient } from '../proxy/config/client.js';
import { createDnsResponder } from '../proxy/dns/server.js';
import { createProxyHost } from '../proxy/workers/host.js';
import { LiveReporter } from '../proxy/live/reporter.js';
import { hostmeshVersion } from '../common/version.js';
import { DELTA_GAP } from '../table/index.js';
/** Answered until the first table arrives: every mesh name is NXDOMAIN, other names REFUSED. */
const NO_DNS = { zones: ['hostmesh'], ttl: 5, services: [] };
const NODE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
async function prepareStateDir(dir) {
    try {
        await mkdir(dir, { recursive: true });
        await access(dir, constants.W_OK);
    }
    catch (e) {
        throw new HostmeshError('STATE_DIR_UNUSABLE', `the state directory ${dir} cannot be created or written: ${errorMessage(e)}`);
    }
}
export async function startProxyCommand(opts) {
    const { log } = opts;
    if (!NODE_NAME.test(opts.node)) {
        throw new HostmeshError('CLI_USAGE', `--node: "${opts.node}" is not a node name (letters, digits, '.', '-', '_', at most 253)`);
    }
    await prepareStateDir(opts.stateDir);
    const drainTimeoutMs = opts.drainTimeoutMs ?? 20_000;
    const limits = { drainTimeoutMs, drainIdleGraceMs: Math.min(drainTimeoutMs / 4, 2000) };
    const engine = await createProxyHost({ workers: opts.workers, host: opts.bind, reusePort: opts.reusePort ?? true, accessLog: opts.accessLog, tracing: opts.tracing, limits, log });
    const dns = createDnsResponder({ host: opts.dns.host, port: opts.dns.port, config: NO_DNS, log, registry: engine.registry });
    const outcome = (r) => {
        const current = engine.current;
        if (!r.ok || current === undefined)
            return { ok: false, error: r.ok ? 'no table applied' : r.error.message, gap: !r.ok && r.error.code === DELTA_GAP };
        // DNS answers what the engine serves: set only once the (now validated) table is in place,
        // and only when it changed (a delta that leaves the names alone keeps the same object).
        if (dns.config !== current.table.dns)
            dns.config = current.table.dns;
        return { ok: true, digest: r.digest, table: current.table };
    };
    const apply = async (table) => outcome(await engine.apply(table));
    const applyDelta = async (delta) => outcome(await engine.applyDelta(delta));
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
    let dnsPort;
    let step = `cannot listen on ${opts.admin.host}:${opts.admin.port} for the admin server`;
    try {
        // Ports first: a taken admin or DNS port stops the start before any mesh port opens.
        await admin.listen();
        step = 'mesh DNS';
        dnsPort = (await dns.listen()).udpPort;
        step = `the state directory ${opts.stateDir}`;
        await client.start();
    }
    catch (e) {
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
    let closing;
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
