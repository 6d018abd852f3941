/**
 * Command-line flags of every hostmesh command, declared once: parsing, validation, help text and
 * the README's flag reference all come from this table.
 */
import { parseArgs } from 'node:util';
import { HostmeshError } from '../common/errors.ts';
import { DEFAULT_WRITE_PACING } from '../controller/shadow/pacing.ts';

export type FlagKind = 'string' | 'boolean' | 'list' | 'hostport' | 'range' | 'workers' | 'url' | 'ratio' | 'level' | 'seconds' | 'count';

export interface FlagSpec {
  kind: FlagKind;
  help: string;
  default?: string | boolean;
  required?: boolean;
  /** Placeholder shown in help, e.g. DIR. */
  value?: string;
}

export interface CommandSpec {
  summary: string;
  /** One required positional argument (e.g. `NS/SVC[:PORT]`): its placeholder and meaning. */
  argument?: { value: string; help: string };
  flags: Record<string, FlagSpec>;
}

/** Log levels pino knows, in the order of the help text. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const logLevel: FlagSpec = { kind: 'level', value: 'LEVEL', default: 'info', help: 'log level: trace, debug, info, warn, error, fatal, silent (or HOSTMESH_LOG_LEVEL)' };
const workers: FlagSpec = { kind: 'workers', value: 'N|auto', default: '1', help: 'proxy worker threads; auto = one per core' };
const acl: FlagSpec = { kind: 'boolean', default: false, help: 'ACL mode: every mesh port denies clients unless an SMI TrafficTarget allows their ServiceAccount (docs/smi.md)' };
const accessLog: FlagSpec = { kind: 'boolean', default: false, help: 'write a JSON access log line per request to stdout' };
const traceCollector: FlagSpec = { kind: 'url', value: 'URL', help: 'export one span per sampled HTTP request to this OTLP/HTTP collector (JSON; a URL without a path gets /v1/traces)' };
const traceSampling: FlagSpec = { kind: 'ratio', value: 'RATIO', default: '0.01', help: 'head sampling ratio of traces, 0 to 1, decided by trace id (a caller\'s unsampled traceparent is respected)' };
const zones: FlagSpec = { kind: 'list', value: 'Z1,Z2', default: 'hostmesh', help: 'DNS zones answered, canonical first (e.g. hostmesh,traefik.mesh,caddy.mesh)' };
const portRange: FlagSpec = { kind: 'range', value: 'A-B', default: '10000-30000', help: 'proxy ports are allocated from this range' };
const namespace: FlagSpec = { kind: 'string', value: 'NS', required: true, help: 'namespace of hostmesh itself' };
const kubeconfig: FlagSpec = { kind: 'string', value: 'FILE', help: 'kubeconfig to use (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)' };
const tokenFile: FlagSpec = { kind: 'string', value: 'FILE', help: 'file holding the bearer token for the controller API and the proxy /config' };

const liveUrl: FlagSpec = { kind: 'url', value: 'URL', default: 'http://127.0.0.1:9901', help: 'the controller, or standalone\'s admin address' };
const liveSample: FlagSpec = { kind: 'string', value: 'SHARE', default: '1', help: 'share of matching requests each proxy reports, (0, 1]' };
const liveRate: FlagSpec = { kind: 'string', value: 'N', default: '100', help: 'most requests per second each proxy thread reports (1-1000)' };

export const COMMANDS: Record<string, CommandSpec> = {
  standalone: {
    summary: 'run the controller on a directory of manifests and one proxy, on loopback',
    flags: {
      manifests: { kind: 'string', value: 'DIR', required: true, help: 'directory of YAML manifests (Services, EndpointSlices, Pods, SMI objects); re-read on change' },
      'port-range': { ...portRange, default: '10000-10999' },
      admin: { kind: 'hostport', value: 'HOST:PORT', default: '127.0.0.1:9901', help: 'admin server: /healthz /readyz /metrics /config /v1/routes' },
      dns: { kind: 'hostport', value: 'HOST:PORT', help: 'also answer mesh DNS here (UDP and TCP), e.g. 127.0.0.1:5353' },
      zones,
      'state-dir': { kind: 'string', value: 'DIR', help: 'keep the port allocation and port quarantine here across restarts (memory only when unset)' },
      acl,
      workers,
      'token-file': tokenFile,
      'access-log': accessLog,
      'trace-collector': traceCollector,
      'trace-sampling': traceSampling,
      'log-level': logLevel,
    },
  },
  demo: {
    summary: 'start two demo backends (v1, v2) and a standalone mesh in front of them',
    flags: {
      'port-range': { ...portRange, default: '10000-10999' },
      admin: { kind: 'hostport', value: 'HOST:PORT', default: '127.0.0.1:9901', help: 'admin server address' },
      'log-level': { ...logLevel, default: 'warn' },
    },
  },
  controller: {
    summary: 'watch the cluster, keep shadow Services and mesh DNS, push routing tables to proxies',
    flags: {
      listen: { kind: 'hostport', value: 'HOST:PORT', default: '0.0.0.0:8440', help: 'controller API: /v1/watch /v1/ack /v1/status /v1/report /v1/stats /v1/tap /dashboard /healthz /readyz /metrics' },
      'mesh-namespace': { kind: 'string', value: 'NS', required: true, help: 'namespace of hostmesh itself; shadow Services live here' },
      'token-file': { ...tokenFile, required: true },
      'proxy-selector': { kind: 'string', value: 'K=V,...', required: true, help: 'labels of the proxy pods; shadow Services select them' },
      'dns-service': { kind: 'string', value: 'NAME', help: 'Service (in the mesh namespace) of the proxies\' DNS responders; needed by --patch-dns' },
      zones,
      'port-range': portRange,
      'watch-namespaces': { kind: 'list', value: 'NS,...', help: 'mesh only these namespaces (default: all)' },
      'ignore-namespaces': { kind: 'list', value: 'NS,...', default: 'kube-system,kube-public,kube-node-lease', help: 'never mesh these namespaces' },
      'patch-dns': { kind: 'boolean', default: false, help: 'add the mesh zones to CoreDNS (or kube-dns) and keep them there' },
      acl,
      'leader-elect': { kind: 'boolean', default: false, help: 'run as one of several replicas: only the holder of the Lease hostmesh-controller (in the mesh namespace) works; the others stand by' },
      'leader-identity': { kind: 'string', value: 'NAME', help: 'this replica\'s name in the Lease (default: $POD_NAME, else the host name)' },
      'leader-address': { kind: 'url', value: 'URL', help: 'this replica\'s API address (http://POD_IP:8440), written to the Lease; standbys forward proxies there' },
      'shadow-write-rate': { kind: 'count', value: 'N', default: String(DEFAULT_WRITE_PACING.perSecond), help: 'shadow Service writes started per second at most (0: not paced); mesh DNS has every name of a first install on N Services after about N / this many seconds (docs/operations.md#install-time-in-a-large-cluster)' },
      'shadow-write-concurrency': { kind: 'count', value: 'N', default: String(DEFAULT_WRITE_PACING.concurrency), help: 'shadow Service writes in flight at most (1 or more)' },
      kubeconfig,
      'log-level': logLevel,
    },
  },
  proxy: {
    summary: 'the node proxy: follow the controller, serve the mesh ports, answer mesh DNS',
    flags: {
      controller: { kind: 'url', value: 'URL', required: true, help: 'controller base URL, e.g. http://hostmesh-controller.hostmesh.svc:8440' },
      node: { kind: 'string', value: 'NAME', required: true, help: 'this node\'s name (reported to the controller)' },
      'token-file': { ...tokenFile, required: true },
      'state-dir': { kind: 'string', value: 'DIR', required: true, help: 'where the last good table is kept and served from at start (fail static)' },
      bind: { kind: 'string', value: 'HOST', default: '0.0.0.0', help: 'address the mesh listeners bind to' },
      admin: { kind: 'hostport', value: 'HOST:PORT', default: '0.0.0.0:9901', help: 'admin server: /healthz /readyz /metrics /config' },
      dns: { kind: 'hostport', value: 'HOST:PORT', default: '0.0.0.0:5353', help: 'mesh DNS responder (UDP and TCP)' },
      workers: { ...workers, default: 'auto', help: 'proxy worker threads; auto = as many as the container\'s CPU and memory limits hold (one per core without limits)' },
      'shutdown-delay': { kind: 'seconds', value: 'SECONDS', default: '0', help: 'on SIGTERM, report not ready and keep serving this long before draining (endpoints move first)' },
      'drain-timeout': { kind: 'seconds', value: 'SECONDS', default: '20', help: 'then stop accepting and wait this long at most for requests in flight' },
      'max-connections': { kind: 'count', value: 'N', default: '0', help: 'client plus backend connections open at once; clients get half, more are answered 503 (0: the open-file limit minus 128; or HOSTMESH_MAX_CONNECTIONS)' },
      'access-log': accessLog,
      'trace-collector': traceCollector,
      'trace-sampling': traceSampling,
      'log-level': logLevel,
    },
  },
  cleanup: {
    summary: 'remove what the controller added to the cluster: the DNS patch and the shadow Services',
    flags: {
      'mesh-namespace': { kind: 'string', value: 'NS', required: true, help: 'namespace of hostmesh itself' },
      'dns-service': { kind: 'string', value: 'NAME', help: 'the proxies\' DNS Service (to find the patch)' },
      zones,
      kubeconfig,
      'log-level': logLevel,
    },
  },
  'token-secret': {
    summary: 'create the bearer token Secret (random) unless it exists; the chart runs it as a hook',
    flags: {
      namespace,
      name: { kind: 'string', value: 'NAME', required: true, help: 'the Secret\'s name' },
      key: { kind: 'string', value: 'KEY', default: 'token', help: 'the data key holding the token' },
      kubeconfig,
    },
  },
  check: {
    summary: 'report problems: of a manifest directory, a running controller, or a cluster before (--pre) or after installing (--cluster)',
    flags: {
      manifests: { kind: 'string', value: 'DIR', help: 'check this manifest directory offline' },
      controller: { kind: 'url', value: 'URL', help: 'ask this controller for its status' },
      'token-file': tokenFile,
      pre: { kind: 'boolean', default: false, help: 'before installing: the cluster (kubeconfig) is ready for hostmesh, one line per check' },
      cluster: { kind: 'boolean', default: false, help: 'an installed release (kubeconfig): controller and proxies ready, cluster DNS patched; with --controller also every proxy current' },
      namespace: { kind: 'string', value: 'NS', default: 'hostmesh', help: 'the release namespace (--pre, --cluster)' },
      zones,
      kubeconfig,
      can: { kind: 'string', value: 'NS/SA', help: 'with --manifests and --to: which TrafficTargets let this ServiceAccount reach the Service in ACL mode' },
      to: { kind: 'string', value: 'NS/SVC[:PORT]', help: 'the destination of --can (every routed port, or one)' },
      path: { kind: 'string', value: 'PATH', help: 'with --can: whether a request to this path is allowed' },
      method: { kind: 'string', value: 'METHOD', help: 'with --can: the request method (default GET)' },
      json: { kind: 'boolean', default: false, help: 'print JSON instead of text' },
    },
  },
  tap: {
    summary: 'stream live request summaries of a Service from every proxy, through the controller',
    argument: { value: 'NS/SVC[:PORT]', help: 'the Service to tap (every port, or one)' },
    flags: {
      controller: liveUrl,
      'token-file': tokenFile,
      path: { kind: 'string', value: 'PREFIX', help: 'only requests whose path starts with PREFIX' },
      method: { kind: 'string', value: 'METHOD', help: 'only requests with this method' },
      code: { kind: 'string', value: 'CODE', help: 'only responses with this status code' },
      sample: liveSample,
      rate: liveRate,
      max: { kind: 'string', value: 'N', help: 'stop after N requests' },
      duration: { kind: 'string', value: 'DURATION', help: 'stop after this long, counted from when the stream is open (e.g. 30s, 5m)' },
      json: { kind: 'boolean', default: false, help: 'print one JSON object per request' },
    },
  },
  top: {
    summary: 'show the busiest paths of a Service, from a live tap through the controller',
    argument: { value: 'NS/SVC[:PORT]', help: 'the Service to watch (every port, or one)' },
    flags: {
      controller: liveUrl,
      'token-file': tokenFile,
      interval: { kind: 'string', value: 'DURATION', default: '2s', help: 'how often the table is printed' },
      duration: { kind: 'string', value: 'DURATION', help: 'stop after this long, counted from when the stream is open, and print the table once more' },
      rows: { kind: 'string', value: 'N', default: '20', help: 'paths shown' },
      sample: liveSample,
      rate: liveRate,
    },
  },
  version: { summary: 'print the version', flags: {} },
};

export interface HostPort { host: string; port: number }

export type FlagValue = string | boolean | string[] | HostPort | [number, number] | number | URL | undefined;

export interface ParsedCommand {
  command: string;
  flags: Record<string, FlagValue>;
  /** The positional argument, for commands that take one. */
  argument?: string;
}

function fail(message: string): never {
  throw new HostmeshError('CLI_USAGE', message);
}

export function parseHostPort(flag: string, v: string): HostPort {
  // host:port, [v6]:port, or :port (all interfaces is never implied: host defaults to 127.0.0.1)
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) fail(`--${flag}: "${v}" is not HOST:PORT (e.g. 127.0.0.1:9901)`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function parseRange(flag: string, v: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(v);
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2]) : NaN;
  if (!m || a < 1 || b > 65535 || a > b) fail(`--${flag}: "${v}" is not a port range A-B with 1 <= A <= B <= 65535`);
  return [a, b];
}

function convert(flag: string, spec: FlagSpec, raw: string | boolean): FlagValue {
  if (spec.kind === 'boolean') return raw;
  const v = String(raw);
  switch (spec.kind) {
    case 'string':
      if (v === '') fail(`--${flag} needs a value`);
      return v;
    case 'list':
      return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'hostport':
      return parseHostPort(flag, v);
    case 'range':
      return parseRange(flag, v);
    case 'level':
      if (!(LOG_LEVELS as readonly string[]).includes(v)) fail(`--${flag}: "${v}" is not a log level (${LOG_LEVELS.join(', ')})`);
      return v;
    case 'seconds': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n) || n < 0 || n > 3600) fail(`--${flag}: "${v}" is not a number of seconds (0-3600)`);
      return n;
    }
    case 'count': {
      if (!/^\d{1,9}$/.test(v)) fail(`--${flag}: "${v}" is not a count (a whole number, 0 or more)`);
      return Number(v);
    }
    case 'workers': {
      if (v === 'auto') return 'auto';
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 256) fail(`--${flag}: "${v}" is not a worker count (1-256) or auto`);
      return n;
    }
    case 'ratio': {
      const n = v.trim() === '' ? Number.NaN : Number(v);
      if (!Number.isFinite(n) || n < 0 || n > 1) fail(`--${flag}: "${v}" is not a ratio from 0 to 1 (e.g. 0.01 for 1%)`);
      return n;
    }
    case 'url': {
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        fail(`--${flag}: "${v}" is not a URL (e.g. http://hostmesh-controller:8440)`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`--${flag}: "${v}" must be an http:// or https:// URL`);
      return u;
    }
  }
}

/** Parses `argv` (without node and script). Throws HostmeshError CLI_USAGE with one clear line. */
export function parseCommandLine(argv: string[]): ParsedCommand {
  const [command, ...rest] = argv;
  if (command === undefined) fail('no command given (try hostmesh --help)');
  const spec = COMMANDS[command];
  if (!spec) fail(`unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, f] of Object.entries(spec.flags)) options[name] = { type: f.kind === 'boolean' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[] = [];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options, strict: true, allowPositionals: spec.argument !== undefined }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    fail(`${command}: ${msg.replace(/\. To specify a positional argument.*$/, '')}`);
  }
  const flags: Record<string, FlagValue> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    const raw = values[name] ?? f.default;
    if (raw === undefined) {
      if (f.required) fail(`${command}: --${name} is required (${f.help})`);
      flags[name] = undefined;
      continue;
    }
    flags[name] = convert(name, f, raw);
  }
  if (spec.argument === undefined) return { command, flags };
  if (positionals.length !== 1) fail(`${command}: expected one ${spec.argument.value} (${spec.argument.help}), got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  return { command, flags, argument: positionals[0]! };
}

export function usage(): string {
  const lines = ['usage: hostmesh <command> [flags]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(11)} ${c.summary}`);
  lines.push('', 'hostmesh <command> --help shows its flags.');
  return `${lines.join('\n')}\n`;
}

export function commandUsage(command: string): string {
  const spec = COMMANDS[command];
  if (!spec) return usage();
  const lines = [`usage: hostmesh ${command}${spec.argument ? ` ${spec.argument.value}` : ''} [flags]`, '', spec.summary, ''];
  if (spec.argument) lines.push(`  ${spec.argument.value.padEnd(32)} ${spec.argument.help}`);
  for (const [name, f] of Object.entries(spec.flags)) {
    const left = `  --${name}${f.kind === 'boolean' ? '' : ` ${f.value ?? 'VALUE'}`}`;
    const dflt = f.required ? ' (required)' : f.default !== undefined && f.default !== false ? ` (default ${String(f.default)})` : '';
    lines.push(`${left.padEnd(34)} ${f.help}${dflt}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The README's CLI reference (markdown), generated from this table so the two cannot drift. */
export function cliReference(): string {
  const lines: string[] = [];
  for (const [name, c] of Object.entries(COMMANDS)) {
    lines.push(`### \`hostmesh ${name}${c.argument ? ` ${c.argument.value}` : ''}\``, '', `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`, '');
    const flags = Object.entries(c.flags);
    if (flags.length === 0) continue;
    lines.push('| flag | default | meaning |', '|---|---|---|');
    for (const [flag, f] of flags) {
      const usage = `\`--${flag}${f.kind === 'boolean' ? '' : ` ${f.value ?? 'VALUE'}`}\``;
      const dflt = f.required ? 'required' : f.default !== undefined && f.default !== false ? `\`${String(f.default)}\`` : '';
      lines.push(`| ${usage.replaceAll('|', '\\|')} | ${dflt} | ${f.help.replaceAll('|', '\\|')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
