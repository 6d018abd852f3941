/**
 * The conformance mesh: upstream's mesh base manifests (namespaces gateway-conformance-mesh and
 * gateway-conformance-mesh-consumer; Services echo, echo-v1, echo-v2 with ports http 80,
 * http-alt 8080 (appProtocol http), https 443, tcp 9090, grpc 7070 (appProtocol grpc)) served by
 * `hostmesh standalone` over local echo pods, with the Pods listed so the mesh knows each client's
 * namespace, and EndpointSlices standing in for what Kubernetes derives from the selectors.
 *
 * A client is an echo pod: it sends from its pod IP, resolves names like a pod's DNS search path
 * (`echo` is a Service in its own namespace, `echo-v1.gateway-conformance-mesh` one in that
 * namespace, a pod IP is that pod) and addresses the Service port's mesh listener, sending the
 * Host it was given, as the upstream mesh client does from inside the pod.
 */
import type { TestContext } from 'node:test';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { Agent, request } from 'undici';
import { withStandalone } from '../../support/standalone.ts';
import type { StandaloneFixture } from '../../support/standalone.ts';
import { GRPC_ECHO_PATH, PORT_NAMES, SERVICE_PORTS, grpcFrame, grpcMessages, messageField1, readField1, startEchoPod } from './echo.ts';
import type { EchoBody, EchoPod, PortName } from './echo.ts';

export const MESH_NS = 'gateway-conformance-mesh';
export const CONSUMER_NS = 'gateway-conformance-mesh-consumer';

/** The upstream echo Deployments, one pod each, with their pod IPs. */
const PODS = [
  { name: 'echo-v1-7d9c6b5f4-m2x8q', namespace: MESH_NS, address: '127.0.0.11', labels: { app: 'echo', version: 'v1' } },
  { name: 'echo-v2-5b8f7c9d6-k4p7r', namespace: MESH_NS, address: '127.0.0.12', labels: { app: 'echo', version: 'v2' } },
  { name: 'echo-v1-6c4d8b7f5-t9w3z', namespace: CONSUMER_NS, address: '127.0.0.21', labels: { app: 'echo', version: 'v1' } },
];

/** Services of the base manifests: name and the pod labels they select. */
const SERVICES: { name: string; selector: Record<string, string> }[] = [
  { name: 'echo', selector: { app: 'echo' } },
  { name: 'echo-v1', selector: { app: 'echo', version: 'v1' } },
  { name: 'echo-v2', selector: { app: 'echo', version: 'v2' } },
];

const APP_PROTOCOL: Partial<Record<PortName, string>> = { 'http': 'http', 'http-alt': 'http', 'grpc': 'grpc' };

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Base manifests as YAML: Services, one EndpointSlice per (Service, selected pod), Pods. */
export function baseManifests(pods: readonly EchoPod[]): string {
  const docs: string[] = [];
  for (const ns of [MESH_NS, CONSUMER_NS]) docs.push(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`);
  for (const s of SERVICES) {
    const ports = PORT_NAMES.map((p) => `  - name: ${p}\n    port: ${SERVICE_PORTS[p]}\n    targetPort: ${p}${APP_PROTOCOL[p] ? `\n    appProtocol: ${APP_PROTOCOL[p]}` : ''}`);
    docs.push(`apiVersion: v1\nkind: Service\nmetadata:\n  name: ${s.name}\n  namespace: ${MESH_NS}\nspec:\n  selector:\n${Object.entries(s.selector).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\n  ports:\n${ports.join('\n')}\n`);
    for (const pod of pods.filter((p) => p.namespace === MESH_NS && selects(s.selector, p.labels))) {
      const slicePorts = PORT_NAMES.map((p) => `  - name: ${p}\n    port: ${pod.ports[p]}\n    protocol: TCP${APP_PROTOCOL[p] ? `\n    appProtocol: ${APP_PROTOCOL[p]}` : ''}`);
      docs.push(`apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${s.name}-${pod.name.slice(pod.name.lastIndexOf('-') + 1)}\n  namespace: ${MESH_NS}\n  labels:\n    kubernetes.io/service-name: ${s.name}\naddressType: IPv4\nports:\n${slicePorts.join('\n')}\nendpoints:\n  - addresses: [${pod.address}]\n    conditions: { ready: true }\n    targetRef: { kind: Pod, name: ${pod.name}, namespace: ${pod.namespace} }\n`);
    }
  }
  for (const pod of pods) {
    docs.push(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${pod.name}\n  namespace: ${pod.namespace}\n  labels:\n${Object.entries(pod.labels).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\nspec:\n  serviceAccountName: default\n  containers:\n  - name: echo\n    image: echo\nstatus:\n  phase: Running\n  podIP: ${pod.address}\n  podIPs:\n  - ip: ${pod.address}\n`);
  }
  return docs.map((d) => `---\n${d}`).join('');
}

export interface Request {
  /** `name[.namespace][:port]` or `podIP:port`; `echo` when absent. */
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  protocol?: 'http' | 'grpc';
}

/** What a client saw: status, response headers, and the echo's view of the request. */
export interface Captured {
  status: number;
  /** Response header lines, names lower-cased. */
  headers: Record<string, string[]>;
  /** The request as the backend received it (absent when no backend answered). */
  echo?: EchoBody;
  /** The raw body (for messages in failures). */
  body: string;
}

export interface MeshClient {
  readonly pod: EchoPod;
  request(req: Request): Promise<Captured>;
}

export interface ConformanceMesh {
  readonly fixture: StandaloneFixture;
  readonly pods: readonly EchoPod[];
  /** The first pod of `app=echo,version=<version>` in `namespace` (default the mesh namespace). */
  client(version: 'v1' | 'v2', namespace?: string): MeshClient;
  /** Writes a test's manifests and waits until the mesh applied them. */
  apply(yaml: string): Promise<void>;
  /** Removes the test's manifests again. */
  clear(): Promise<void>;
}

type SuiteContext = Pick<TestContext, 'after'>;

export async function startConformanceMesh(t: SuiteContext): Promise<ConformanceMesh> {
  const pods: EchoPod[] = [];
  for (const p of PODS) pods.push(await startEchoPod(t, p));
  const fixture = await withStandalone(t as TestContext, { 'base.yaml': baseManifests(pods), 'test.yaml': '' });
  const clients = new Map<string, MeshClient>();
  const client = (version: 'v1' | 'v2', namespace = MESH_NS): MeshClient => {
    const pod = pods.find((p) => p.namespace === namespace && p.labels.version === version);
    if (!pod) throw new Error(`no echo ${version} pod in ${namespace}`);
    let c = clients.get(pod.name);
    if (!c) {
      c = meshClient(t, fixture, pods, pod);
      clients.set(pod.name, c);
    }
    return c;
  };
  return {
    fixture,
    pods,
    client,
    apply: (yaml) => fixture.write('test.yaml', yaml),
    clear: () => fixture.write('test.yaml', ''),
  };
}

interface Target {
  /** Where to connect: the mesh listener of the Service port, or the pod's own address and port. */
  address: string;
  port: number;
  /** The Host header a client from the pod sends for this URL. */
  authority: string;
}

/** Resolves a request host the way a client inside `from` would reach it. */
export function resolveTarget(fixture: StandaloneFixture, pods: readonly EchoPod[], from: EchoPod, host: string, protocol: 'http' | 'grpc'): Target {
  const colon = host.lastIndexOf(':');
  const name = colon >= 0 ? host.slice(0, colon) : host;
  const port = colon >= 0 ? Number(host.slice(colon + 1)) : 80;
  const portName = PORT_NAMES.find((p) => SERVICE_PORTS[p] === port);
  if (!portName) throw new Error(`no port ${port} in the base manifests (${host})`);
  const authority = port === 80 && protocol === 'http' ? name : host;
  const pod = pods.find((p) => p.address === name);
  if (pod) return { address: pod.address, port: pod.ports[portName], authority };
  const parts = name.split('.');
  const service = parts[0]!;
  const namespace = parts[1] ?? from.namespace;
  return { address: '127.0.0.1', port: fixture.port(`${namespace}/${service}:${port}`), authority };
}

function meshClient(t: SuiteContext, fixture: StandaloneFixture, pods: readonly EchoPod[], pod: EchoPod): MeshClient {
  // undici takes the source address as the client's own option (inside `connect` it is ignored).
  const agent = new Agent({ keepAliveTimeout: 1000, localAddress: pod.address });
  t.after(() => agent.close());
  return {
    pod,
    request: async (req) => {
      const protocol = req.protocol ?? 'http';
      const target = resolveTarget(fixture, pods, pod, req.host ?? 'echo', protocol);
      if (protocol === 'grpc') return grpcRequest(pod.address, target, req.headers ?? {});
      const headers: Record<string, string> = { host: target.authority };
      for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase() === 'host' ? 'host' : k] = v;
      const r = await request(`http://${target.address}:${target.port}${req.path ?? '/'}`, { dispatcher: agent, method: (req.method ?? 'GET') as 'GET', headers });
      const body = await r.body.text();
      const out: Captured = { status: r.statusCode, headers: responseHeaders(r.headers), body };
      if (r.headers['content-type'] === 'application/json') {
        try {
          const parsed = JSON.parse(body) as Partial<EchoBody>;
          if (typeof parsed.pod === 'string') out.echo = parsed as EchoBody;
        } catch { /* not the echo */ }
      }
      return out;
    },
  };
}

function responseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v : [v];
  return out;
}

/** One unary call of the upstream grpc echo's method, over h2c from the pod's address. */
function grpcRequest(localAddress: string, target: Target, metadata: Record<string, string>): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://${target.address}:${target.port}`, {
      createConnection: () => netConnect({ host: target.address, port: target.port, localAddress }),
    });
    session.on('error', reject);
    const headers: Record<string, string> = { ':method': 'POST', ':path': GRPC_ECHO_PATH, ':authority': target.authority, 'content-type': 'application/grpc', 'te': 'trailers' };
    for (const [k, v] of Object.entries(metadata)) headers[k.toLowerCase()] = v;
    const stream = session.request(headers);
    let head: Record<string, string[]> = {};
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      head = responseHeaders(Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(':'))) as Record<string, string>);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('trailers', (tr) => { Object.assign(head, responseHeaders(tr as Record<string, string>)); });
    stream.on('error', (e) => {
      session.destroy();
      reject(e);
    });
    stream.on('close', () => {
      session.close();
      const grpcStatus = head['grpc-status']?.[0];
      const text = grpcMessages(Buffer.concat(chunks)).map(readField1)[0] ?? '';
      const out: Captured = { status: status === 200 && grpcStatus === '0' ? 200 : status === 200 ? 500 : status, headers: head, body: text };
      const echo = parseGrpcEcho(text);
      if (echo) out.echo = echo;
      resolve(out);
    });
    stream.end(grpcFrame(messageField1('conformance')));
  });
}

/** The grpc echo's `key=value` lines in the HTTP echo's shape. */
function parseGrpcEcho(text: string): EchoBody | undefined {
  const fields = new Map<string, string>();
  const headers: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'RequestHeader') {
      const c = value.indexOf(':');
      (headers[value.slice(0, c).toLowerCase()] ??= []).push(value.slice(c + 1));
    } else fields.set(key, value);
  }
  const pod = fields.get('Hostname');
  if (pod === undefined) return undefined;
  return { path: GRPC_ECHO_PATH, host: fields.get('Host') ?? '', method: 'POST', proto: 'GRPC', headers, namespace: fields.get('Namespace') ?? '', ingress: '', service: '', pod };
}
