/** `hostmesh controller | proxy | standalone | demo | check | cleanup`: parsing and wiring only. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { commandUsage, LOG_LEVELS, parseCommandLine, usage } from './cli/args.ts';
import { errorMessage, HostmeshError, isHostmeshError } from './common/errors.ts';
import type { FlagValue, HostPort, ParsedCommand } from './cli/args.ts';
import type { TracingOptions } from './proxy/tracing/index.ts';
import { createLogger } from './common/log.ts';
import { readToken, watchToken } from './cli/token.ts';

// Each command imports its modules when it runs: the proxy must not load the Kubernetes client
// (~80 MB of RSS) and `--help` should not load anything.

/** Runs a parsed command; `args` are its raw arguments (to tell a given flag from its default). */
type Runner = (cmd: ParsedCommand, args: readonly string[]) => Promise<number>;

// The reader of stdout may go away (`hostmesh check | head`): further output is dropped and the
// command finishes with its own exit code, instead of dying on an unhandled EPIPE.
let stdoutGone = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') {
    stdoutGone = true;
    return;
  }
  throw e;
});
const out = (line: string): void => {
  if (!stdoutGone) process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** --log-level when given, else HOSTMESH_LOG_LEVEL (the chart sets it), else the flag's default. */
function logLevel(cmd: ParsedCommand, args: readonly string[]): string {
  const given = args.some((a) => a === '--log-level' || a.startsWith('--log-level='));
  if (given) return cmd.flags['log-level'] as string;
  return envLogLevel() ?? cmd.flags['log-level'] as string;
}

/** HOSTMESH_LOG_LEVEL, checked like the flag. */
function envLogLevel(): string | undefined {
  const v = process.env.HOSTMESH_LOG_LEVEL;
  if (v === undefined || v === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new HostmeshError('CLI_USAGE', `HOSTMESH_LOG_LEVEL: "${v}" is not a log level (${LOG_LEVELS.join(', ')})`);
  return v;
}

/** --max-connections when given, else HOSTMESH_MAX_CONNECTIONS, else the flag's default (0). */
function maxConnections(cmd: ParsedCommand, args: readonly string[]): number {
  const given = args.some((a) => a === '--max-connections' || a.startsWith('--max-connections='));
  const v = process.env.HOSTMESH_MAX_CONNECTIONS;
  if (given || v === undefined || v === '') return cmd.flags['max-connections'] as number;
  if (!/^\d{1,9}$/.test(v)) throw new HostmeshError('CLI_USAGE', `HOSTMESH_MAX_CONNECTIONS: "${v}" is not a count (a whole number, 0 or more)`);
  return Number(v);
}

/** Resolves on SIGINT or SIGTERM: long-running commands stop gracefully (draining) then. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (sig: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** What `tap` and `top` share: where, what, how much, how long; Ctrl-C ends them with 0. */
function liveCommon(flags: ParsedCommand['flags'], target: string, duration: (flag: string, v: string) => number) {
  const stop = new AbortController();
  void untilSignal().then(() => stop.abort());
  return {
    controller: flags.controller as URL,
    token: readToken(flags['token-file'] as string | undefined),
    target,
    sample: flags.sample as string,
    rate: flags.rate as string,
    durationMs: flags.duration === undefined ? undefined : duration('duration', flags.duration as string),
    out,
    signal: stop.signal,
  };
}

/** Span export from --trace-collector and --trace-sampling; undefined without a collector. */
function tracing(flags: Record<string, FlagValue>, node: string): TracingOptions | undefined {
  const collector = flags['trace-collector'] as URL | undefined;
  if (collector === undefined) return undefined;
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return { collector: collector.href, sampling: flags['trace-sampling'] as number, node, version: pkg.version };
}

const runners: Record<string, Runner> = {
  standalone: async (cmd, args) => {
    const { flags } = cmd;
    const log = createLogger('hostmesh', logLevel(cmd, args));
    const { startStandalone } = await import('./cli/standalone.ts');
    const mesh = await startStandalone({
      manifests: flags.manifests as string,
      portRange: flags['port-range'] as [number, number],
      admin: flags.admin as HostPort,
      dns: flags.dns as HostPort | undefined,
      zones: flags.zones as string[],
      stateDir: flags['state-dir'] as string | undefined,
      acl: flags.acl as boolean,
      token: readToken(flags['token-file'] as string | undefined),
      accessLog: flags['access-log'] as boolean,
      workers: flags.workers as number | 'auto',
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
    const { startDemo } = await import('./cli/demo.ts');
    const demo = await startDemo({ portRange: flags['port-range'] as [number, number], admin: flags.admin as HostPort, log });
    await untilSignal();
    await demo.close();
    return 0;
  },
  controller: async (cmd, args) => {
    const { flags } = cmd;
    const log = createLogger('hostmesh-controller', logLevel(cmd, args));
    const [{ parseProxySelector, startControllerCommand }, { loadKubeConfig }] = await Promise.all([import('./cli/controller.ts'), import('./cli/kubeconfig.ts')]);
    // Flag mistakes first, then the files, then the cluster credentials.
    const proxySelector = parseProxySelector(flags['proxy-selector'] as string);
    const token = readToken(flags['token-file'] as string)!;
    const running = await startControllerCommand({
      listen: flags.listen as HostPort,
      token,
      kubeConfig: loadKubeConfig(flags.kubeconfig as string | undefined),
      meshNamespace: flags['mesh-namespace'] as string,
      proxySelector,
      zones: flags.zones as string[],
      portRange: flags['port-range'] as [number, number],
      watchNamespaces: flags['watch-namespaces'] as string[] | undefined,
      ignoreNamespaces: flags['ignore-namespaces'] as string[],
      patchDns: flags['patch-dns'] as boolean,
      acl: flags.acl as boolean,
      dnsService: flags['dns-service'] as string | undefined,
      shadowWrites: { perSecond: flags['shadow-write-rate'] as number, concurrency: flags['shadow-write-concurrency'] as number },
      ...(flags['leader-elect'] === true
        ? {
          leaderElection: {
            identity: (flags['leader-identity'] as string | undefined) ?? process.env.POD_NAME ?? hostname(),
            ...(flags['leader-address'] === undefined ? {} : { address: String(flags['leader-address'] as URL).replace(/\/+$/, '') }),
          },
        }
        : {}),
      log,
    });
    const tokenFile = flags['token-file'] as string;
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
    const { startProxyCommand } = await import('./cli/proxy.ts');
    const admin = flags.admin as HostPort;
    const dns = flags.dns as HostPort;
    const tokenFile = flags['token-file'] as string;
    const token = readToken(tokenFile)!;
    const proxy = await startProxyCommand({
      controllerUrl: flags.controller as URL,
      node: flags.node as string,
      token,
      stateDir: flags['state-dir'] as string,
      bind: flags.bind as string,
      admin,
      dns,
      workers: flags.workers as number | 'auto',
      shutdownDelayMs: (flags['shutdown-delay'] as number) * 1000,
      drainTimeoutMs: (flags['drain-timeout'] as number) * 1000,
      maxConnections: maxConnections(cmd, args),
      accessLog: flags['access-log'] as boolean,
      tracing: tracing(flags, flags.node as string),
      log,
    });
    const unwatch = watchToken(tokenFile, token, (next) => {
      proxy.client.setToken(next);
      proxy.reporter.setToken(next);
      proxy.admin.setToken(next);
      log.info({ file: tokenFile }, 'the token file changed: the new token is in use');
    }, log);
    out(`hostmesh proxy: node ${flags.node as string}, following ${(flags.controller as URL).href}`);
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
    const [{ runCleanupCommand }, { loadKubeConfig }] = await Promise.all([import('./cli/cleanup.ts'), import('./cli/kubeconfig.ts')]);
    return runCleanupCommand({
      kubeConfig: loadKubeConfig(flags.kubeconfig as string | undefined),
      meshNamespace: flags['mesh-namespace'] as string,
      dnsService: flags['dns-service'] as string | undefined,
      zones: flags.zones as string[],
      log: createLogger('hostmesh-cleanup', logLevel(cmd, args)),
      out,
      err,
    });
  },
  'token-secret': async ({ flags }) => {
    const [{ runTokenSecretCommand }, { loadKubeConfig }] = await Promise.all([import('./cli/token-secret.ts'), import('./cli/kubeconfig.ts')]);
    return runTokenSecretCommand({
      kubeConfig: loadKubeConfig(flags.kubeconfig as string | undefined),
      namespace: flags.namespace as string,
      name: flags.name as string,
      key: flags.key as string,
      out,
    });
  },
  check: async ({ flags }) => (await import('./cli/check.ts')).runCheckCommand({
    pre: flags.pre as boolean,
    cluster: flags.cluster as boolean,
    namespace: flags.namespace as string,
    zones: flags.zones as string[],
    // The Kubernetes client is loaded only for --pre and --cluster.
    kubeConfig: async () => (await import('./cli/kubeconfig.ts')).loadKubeConfig(flags.kubeconfig as string | undefined),
    manifests: flags.manifests as string | undefined,
    controller: flags.controller as URL | undefined,
    token: readToken(flags['token-file'] as string | undefined),
    can: flags.can as string | undefined,
    to: flags.to as string | undefined,
    path: flags.path as string | undefined,
    method: flags.method as string | undefined,
    json: flags.json as boolean,
    // Output is the report on stdout; logs only when asked for.
    log: createLogger('hostmesh-check', envLogLevel() ?? 'warn'),
    out,
  }),
  tap: async ({ flags, argument }) => {
    const { parseCountFlag, parseDurationFlag, runTapCommand } = await import('./cli/tap.ts');
    return runTapCommand({
      ...liveCommon(flags, argument!, parseDurationFlag),
      path: flags.path as string | undefined,
      method: flags.method as string | undefined,
      code: flags.code as string | undefined,
      max: flags.max === undefined ? undefined : parseCountFlag('max', flags.max as string),
      json: flags.json as boolean,
    });
  },
  top: async ({ flags, argument }) => {
    const { parseCountFlag, parseDurationFlag, runTopCommand } = await import('./cli/tap.ts');
    return runTopCommand({
      ...liveCommon(flags, argument!, parseDurationFlag),
      intervalMs: parseDurationFlag('interval', flags.interval as string),
      rows: parseCountFlag('rows', flags.rows as string, 1000),
    });
  },
  version: async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`hostmesh ${pkg.version}\n`);
    return 0;
  },
};

/** Runs one command; resolves to the exit code (long-running commands resolve when stopped). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(usage());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') return main(['version']);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandUsage(command));
    return 0;
  }
  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
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
  } catch (e) {
    // Start-up failures (unreadable manifests, a port in use...) are one clear line and exit 2.
    process.stderr.write(`hostmesh ${parsed.command}: ${errorMessage(e)}\n`);
    return isHostmeshError(e) ? 2 : 1;
  }
}
