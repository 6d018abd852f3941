/**
 * Runs `hostmesh standalone` in-process for a test: a temporary manifest directory, the real
 * manifest source, translation, publisher and proxy engine on 127.0.0.1. `write()` edits the
 * manifests live; `settled()` waits until the edit is applied. Everything closes after the test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startStandalone } from '../../src/cli/standalone.ts';
import type { StandaloneMesh, StandaloneOptions } from '../../src/cli/standalone.ts';
import { createLogger } from '../../src/common/log.ts';

export interface StandaloneFixture {
  readonly mesh: StandaloneMesh;
  readonly dir: string;
  /** Base URL of the listener serving `namespace/service:port`, e.g. `http://127.0.0.1:10003`. */
  url(route: string): string;
  /** Listener port of a route. */
  port(route: string): number;
  /** Replaces (or creates) one manifest file and waits until the change is applied. */
  write(file: string, yaml: string): Promise<void>;
  /** The admin server's base URL. */
  readonly admin: string;
}

let nextRange = 0;

/** A port range per fixture so parallel tests in one process do not collide. */
function portRange(): [number, number] {
  // Spread over 20000-29999 by pid and a counter; listeners on ports in use are moved anyway.
  const base = 20000 + ((process.pid * 97 + nextRange++ * 100) % 9900);
  return [base, base + 99];
}

export async function withStandalone(t: TestContext, files: Record<string, string>, opts: Partial<StandaloneOptions> = {}): Promise<StandaloneFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-test-'));
  for (const [name, yaml] of Object.entries(files)) writeFileSync(join(dir, name), yaml);
  const lines: string[] = [];
  const mesh = await startStandalone({
    manifests: dir,
    portRange: portRange(),
    admin: { host: '127.0.0.1', port: 0 },
    zones: ['hostmesh'],
    accessLog: false,
    log: createLogger('test', process.env.HOSTMESH_LOG_LEVEL ?? 'silent'),
    out: (line) => lines.push(line),
    ...opts,
  });
  t.after(async () => {
    await mesh.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = (route: string): number => {
    const r = mesh.engine.routes().find((x) => x.route === route);
    if (!r) throw new Error(`no route ${route}; routes: ${mesh.engine.routes().map((x) => x.route).join(', ')}`);
    return Number(r.listen.slice(r.listen.lastIndexOf(':') + 1));
  };
  return {
    mesh,
    dir,
    port,
    url: (route) => `http://127.0.0.1:${port(route)}`,
    write: async (file, yaml) => {
      writeFileSync(join(dir, file), yaml);
      await mesh.settled();
    },
    admin: `http://127.0.0.1:${mesh.admin.port}`,
  };
}

export interface PortSpec {
  /** Service port name; the EndpointSlice port of the same name carries the backend port. */
  name: string;
  port: number;
  /** Backend ports on 127.0.0.1, one EndpointSlice each (an empty list: no endpoints). */
  backends: number[];
  protocol?: 'TCP' | 'UDP';
  appProtocol?: string;
}

/** A Service with any number of ports and its EndpointSlices, as manifest YAML. */
export function serviceYaml(name: string, opts: { namespace?: string; annotations?: Record<string, string>; ports: PortSpec[] }): string {
  const ns = opts.namespace ?? 'test';
  const annotations = opts.annotations && Object.keys(opts.annotations).length > 0
    ? `\n  annotations:\n${Object.entries(opts.annotations).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}`
    : '';
  const ports = opts.ports.map((p) => `    - { name: ${p.name}, port: ${p.port}, targetPort: ${p.name}, protocol: ${p.protocol ?? 'TCP'}${p.appProtocol ? `, appProtocol: ${JSON.stringify(p.appProtocol)}` : ''} }`);
  const slices = opts.ports.flatMap((p) => p.backends.map((backend, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${p.name}-${i}, namespace: ${ns}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: ${p.name}, port: ${backend}, protocol: ${p.protocol ?? 'TCP'} }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`));
  return `---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}${annotations}
spec:
  ports:
${ports.join('\n')}
${slices.join('')}`;
}

/** A one-port Service (port `main`) and one EndpointSlice per 127.0.0.1 backend port, as manifest YAML. */
export function service(name: string, opts: { namespace?: string; port?: number; ports?: number[]; annotations?: Record<string, string>; protocol?: 'TCP' | 'UDP' } = {}): string {
  return serviceYaml(name, {
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
    ports: [{ name: 'main', port: opts.port ?? 80, backends: opts.ports ?? [], ...(opts.protocol ? { protocol: opts.protocol } : {}) }],
  });
}
