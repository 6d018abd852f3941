/**
 * `hostmesh demo` (what `npm start` runs): two small backends, v1 and v2, and a standalone mesh
 * in front of them, with manifests written to a temporary directory the user can edit live.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoBackend } from '../demo/backend.js';
import { startStandalone } from './standalone.js';
export function demoManifests(v1, v2) {
    const slice = (name, port, pod) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: demo, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true }, targetRef: { kind: Pod, name: ${pod} } }]
`;
    return `# hostmesh demo manifests: edit and save, the mesh follows within a moment.
#
# demo/web is what clients call. Its traffic is split by weight between the Services
# demo/web-v1 and demo/web-v2, which point at the two demo backends on 127.0.0.1.
# Try web-v1=0,web-v2=100, or replace the weights with a Caddy Mesh style split:
#   mesh.caddyserver.com/traffic-split-expression: "header({'User-Agent': '*Chrome*'})"
#   mesh.caddyserver.com/traffic-split-new-service: web-v2
#   mesh.caddyserver.com/traffic-split-old-service: web-v1
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations:
    hostmesh.io/traffic-split-weights: "web-v1=80,web-v2=20"
spec:
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: web-v1, namespace: demo }
spec:
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: web-v2, namespace: demo }
spec:
  ports: [{ name: http, port: 80, targetPort: http }]
${slice('web', v1, 'web-v1')}${slice('web-v1', v1, 'web-v1')}${slice('web-v2', v2, 'web-v2')}`;
}
export async function startDemo(opts) {
    const out = opts.out ?? ((line) => process.stdout.write(`${line}\n`));
    const backends = [await startDemoBackend({ name: 'web', version: 'v1' }), await startDemoBackend({ name: 'web', version: 'v2' })];
    const dir = mkdtempSync(join(tmpdir(), 'hostmesh-demo-'));
    const file = join(dir, 'demo.yaml');
    writeFileSync(file, demoManifests(backends[0].port, backends[1].port));
    let mesh;
    try {
        mesh = await startStandalone({ manifests: dir, portRange: opts.portRange, admin: opts.admin, zones: ['hostmesh'], accessLog: false, ...(opts.log ? { log: opts.log } : {}), out });
    }
    catch (e) {
        await Promise.all(backends.map((b) => b.close()));
        rmSync(dir, { recursive: true, force: true });
        throw e;
    }
    const listen = (route) => mesh.engine.routes().find((r) => r.route === route)?.listen ?? '?';
    const web = listen('demo/web:80');
    const admin = `${opts.admin.host}:${mesh.admin.port}`;
    const tries = [
        [`curl http://${web}/`, 'demo/web: 80% to v1, 20% to v2'],
        [`for i in $(seq 1 20); do curl -s http://${web}/; done | sort | uniq -c`, 'count the split over 20 requests'],
        [`curl http://${listen('demo/web-v2:80')}/`, 'demo/web-v2 directly'],
        [`curl -s http://${admin}/v1/routes`, 'the routes this mesh serves'],
        [`curl -s http://${admin}/metrics | grep '^hostmesh_requests_total'`, 'requests per route, backend, code and method'],
    ];
    const commands = tries.map(([command]) => command);
    out('');
    out(`hostmesh demo: backends v1 on 127.0.0.1:${backends[0].port} and v2 on 127.0.0.1:${backends[1].port}, meshed. Try:`);
    for (const [command, note] of tries)
        out(`  ${command.padEnd(72)} # ${note}`);
    out(`Edit ${file} to change the split live. Ctrl-C stops the demo.`);
    return {
        dir,
        mesh,
        backends,
        commands,
        close: async () => {
            await mesh.close();
            await Promise.all(backends.map((b) => b.close()));
            rmSync(dir, { recursive: true, force: true });
        },
    };
}
