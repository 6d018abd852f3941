/** `hostmesh controller | proxy | standalone | demo | check | cleanup`: parsing and wiring only. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { commandUsage, LOG_LEVELS, parseCommandLine, usage } from './cli/args.js';
import { errorMessage, HostmeshError, isHostmeshError } from './common/errors.js';
import { createLogger } from './common/log.js';
import { readToken, watchToken } from './cli/token.js';
// The reader of stdout may go away (`hostmesh check | head`): further output is dropped and the
// command finishes with its own exit code, instead of dying on an unhandled EPIPE.
let stdoutGone = false;
process.stdout.on('error', (e) => {
    if (e.code === 'EPIPE') {
        stdoutGone = true;
        return;
    }
    throw e;
});
const out = (line) => {
    if (!stdoutGone)
        process.stdout.write(`${line}\n`);
};
const err = (line) => {
    process.stderr.write(`${line}\n`);
};
/** --log-level when given, else HOSTMESH_LOG_LEVEL (the chart sets it), else the flag's default. */
function logLevel(cmd, args) {
    const given = args.some((a) => a === '--log-level' || a.startsWith('--log-level='));
    if (given)
        return cmd.flags['log-level'];
    return envLogLevel() ?? cmd.flags['log-level'];
}
/** HOSTMESH_LOG_LEVEL, checked like the flag. */
function envLogLevel() {
    const v = process.env.HOSTMESH_LOG_LEVEL;
    if (v === undefined || v === '')
        return undefined;
    if (!LOG_LEVELS.includes(v))
        throw new HostmeshError('CLI_USAGE', `HOSTMESH_LOG_LEVEL: "${v}" is not a log level (${LOG_LEVELS.join(', ')})`);
    return v;
}
/** Resolves on SIGINT or SIGTERM: long-running commands stop gracefully (draining) then. */
function untilSignal() {
    return new Promise((resolve) => {
        const stop = (sig) => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve(sig);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
    });
}
/** What `tap` and `top` share: where, what, how much, how long; Ctrl-C ends them with 0. */
function liveCommon(flags, target, duration) {
    const stop = new AbortController();
    void untilSignal().then(() => stop.abort());
    return {
        controller: flags.controller,
        token: readToken(flags['token-file']),
        target,
        sample: flags.sample,
        rate: flags.rate,
        durationMs: flags.duration === undefined ? undefined : duration('duration', flags.duration),
        out,
        signal: stop.signal,
    };
}
/** Span export from --trace-collector and --trace-sampling; undefined without a collector. */
function tracing(flags, node) {
    const collector = flags['trace-collector'];
    if (collector === undefined)
        return undefined;
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return { collector: collector.href, sampling: flags['trace-sampling'], node, version: pkg.version };
}
const runners = {
    standalone: async (cmd, args) => {
        const { flags } = cmd;
        const log = createLogger('hostmesh', logLevel(cmd, args));
        const { startStandalone } = await import('./cli/standalone.js');
        const mesh = await startStandalone({
            manifests: flags.manifests,
            portRange: flags['port-range'],
            admin: flags.admin,
            dns: flags.dns,
            zones: flags.zones,
            token: readToken(flags['token-file']),
            accessLog: flags['access-log'],
            workers: flags.workers,
            tracing: tracing(flags, 'standalone'),
            log,
        });
        const sig = await untilSignal();
        log.info({ signal: sig }, 'stopping: draining connections');
        await mesh.close();
        return 0;
    },
    demo: async (cmd, args) => {
        const { flags } = cmd;
        const log = createLogger('hostmesh', logLevel(cmd, args));
        const { startDemo } = await import('./cli/demo.js');
        const demo = await startDemo({ portRange: flags['port-range'], admin: flags.admin, log });
        await untilSignal();
        await demo.close();
        return 0;
    },
    controller: async (cmd, args) => {
        const { flags } = cmd;
        const log = createLogger('hostmesh-controller', logLevel(cmd, args));
        const [{ parseProxySelector, startControllerCommand }, { loadKubeConfig }] = await Promise.all([import('./cli/controller.js'), import('./cli/kubeconfig.js')]);
        // Flag mistakes first, then the files, then the cluster credentials.
        const proxySelector = parseProxySelector(flags['proxy-selector']);
        const token = readToken(flags['token-file']);
        const running = await startControllerCommand({
            listen: flags.listen,
            token,
            kubeConfig: loadKubeConfig(flags.kubeconfig),
            meshNamespace: flags['mesh-namespace'],
            proxySelector,
            zones: flags.zones,
            portRange: flags['port-range'],
            watchNamespaces: flags['watch-namespaces'],
            ignoreNamespaces: flags['ignore-namespaces'],
            patchDns: flags['patch-dns'],
            dnsService: flags['dns-service'],
            ...(flags['leader-elect'] === true
                ? {
                    leaderElection: {
                        identity: flags['leader-identity'] ?? process.env.POD_NAME ?? hostname(),
                        ...(flags['leader-address'] === undefined ? {} : { address: String(flags['leader-address']).replace(/\/+$/, '') }),
                    },
                }
                : {}),
            log,
        });
        const tokenFile = flags['token-file'];
        const unwatch = watchToken(tokenFile, token, (next) => {
            running.api.setToken(next);
            log.info({ file: tokenFile }, 'the token file changed: the new token is in use (the previous one is accepted for 10 minutes)');
        }, log);
        out(`hostmesh controller: API on ${running.url} (/v1/watch /v1/ack /v1/status need the token; /healthz /readyz /metrics)`);
        out(`dashboard: ${running.url}/dashboard (log in with the token)`);
        const sig = await untilSignal();
        log.info({ signal: sig }, 'stopping: ending the proxies\' watch streams');
        unwatch();
        await running.close();
        return 0;
    },
    proxy: async (cmd, args) => {
        const { flags } = cmd;
        const log = createLogger('hostmesh-proxy', logLevel(cmd, args));
        const { startProxyCommand } = await import('./cli/proxy.js');
        const admin = flags.admin;
        const dns = flags.dns;
        const tokenFile = flags['token-file'];
        const token = readToken(tokenFile);
        const proxy = await startProxyCommand({
            controllerUrl: flags.controller,
            node: flags.node,
            token,
            stateDir: flags['state-dir'],
            bind: flags.bind,
            admin,
            dns,
            workers: flags.workers,
            shutdownDelayMs: flags['shutdown-delay'] * 1000,
            drainTimeoutMs: flags['drain-timeout'] * 1000,
            accessLog: flags['access-log'],
            tracing: tracing(flags, flags.node),
            log,
        });
        const unwatch = watchToken(tokenFile, token, (next) => {
            proxy.client.setToken(next);
            proxy.reporter.setToken(next);
            proxy.admin.setToken(next);
            log.info({ file: tokenFile }, 'the token file changed: the new token is in use');
        }, log);
        out(`hostmesh proxy: node ${flags.node}, following ${flags.controller.href}`);
        out(`admin: http://${admin.host}:${proxy.adminPort} (/healthz /readyz /metrics /v1/routes; /config /v1/status need the token)`);
        out(`dns: ${dns.host}:${proxy.dnsPort} (UDP and TCP)`);
        const sig = await untilSignal();
        log.info({ signal: sig }, 'stopping: draining connections');
        unwatch();
        await proxy.close();
        return 0;
    },
    cleanup: async (cmd, args) => {
        const { flags } = cmd;
        const [{ runCleanupCommand }, { loadKubeConfig }] = await Promise.all([import('./cli/cleanup.js'), import('./cli/kubeconfig.js')]);
        return runCleanupCommand({
            kubeConfig: loadKubeConfig(flags.kubeconfig),
            meshNamespace: flags['mesh-namespace'],
            dnsService: flags['dns-service'],
            zones: flags.zones,
            log: createLogger('hostmesh-cleanup', logLevel(cmd, args)),
            out,
            err,
        });
    },
    'token-secret': async ({ flags }) => {
        const [{ runTokenSecretCommand }, { loadKubeConfig }] = await Promise.all([import('./cli/token-secret.js'), import('./cli/kubeconfig.js')]);
        return runTokenSecretCommand({
            kubeConfig: loadKubeConfig(flags.kubeconfig),
            namespace: flags.namespace,
            name: flags.name,
            key: flags.key,
            out,
        });
    },
    check: async ({ flags }) => (await import('./cli/check.js')).runCheckCommand({
        pre: flags.pre,
        cluster: flags.cluster,
        namespace: flags.namespace,
        zones: flags.zones,
        // The Kubernetes client is loaded only for --pre and --cluster.
        kubeConfig: async () => (await import('./cli/kubeconfig.js')).loadKubeConfig(flags.kubeconfig),
        manifests: flags.manifests,
        controller: flags.controller,
        token: readToken(flags['token-file']),
        json: flags.json,
        // Output is the report on stdout; logs only when asked for.
        log: createLogger('hostmesh-check', envLogLevel() ?? 'warn'),
        out,
    }),
    tap: async ({ flags, argument }) => {
        const { parseCountFlag, parseDurationFlag, runTapCommand } = await import('./cli/tap.js');
        return runTapCommand({
            ...liveCommon(flags, argument, parseDurationFlag),
            path: flags.path,
            method: flags.method,
            code: flags.code,
            max: flags.max === undefined ? undefined : parseCountFlag('max', flags.max),
            json: flags.json,
        });
    },
    top: async ({ flags, argument }) => {
        const { parseCountFlag, parseDurationFlag, runTopCommand } = await import('./cli/tap.js');
        return runTopCommand({
            ...liveCommon(flags, argument, parseDurationFlag),
            intervalMs: parseDurationFlag('interval', flags.interval),
            rows: parseCountFlag('rows', flags.rows, 1000),
        });
    },
    version: async () => {
        const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
        process.stdout.write(`hostmesh ${pkg.version}\n`);
        return 0;
    },
};
/** Runs one command; resolves to the exit code (long-running commands resolve when stopped). */
export async function main(argv) {
    const [command, ...rest] = argv;
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
        process.stdout.write(usage());
        return command === undefined ? 2 : 0;
    }
    if (command === '--version')
        return main(['version']);
    if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(commandUsage(command));
        return 0;
    }
    let parsed;
    try {
        parsed = parseCommandLine(argv);
    }
    catch (e) {
        process.stderr.write(`hostmesh: ${errorMessage(e)}\n`);
        return 2;
    }
    const run = runners[parsed.command];
    if (!run) {
        process.stderr.write(`hostmesh: ${parsed.command} is not available in this build\n`);
        return 2;
    }
    try {
        return await run(parsed, rest);
    }
    catch (e) {
        // Start-up failures (unreadable manifests, a port in use...) are one clear line and exit 2.
        process.stderr.write(`hostmesh ${parsed.command}: ${errorMessage(e)}\n`);
        return isHostmeshError(e) ? 2 : 1;
    }
}
