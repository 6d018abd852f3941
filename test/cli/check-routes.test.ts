/**
 * `hostmesh check --manifests`: bad Gateway API routes are reported (with their route and the
 * rule or backend at fault) and fail the check, while the other Services translate untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheckCommand } from '../../src/cli/check.ts';
import { createLogger } from '../../src/common/log.ts';

const MANIFESTS = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: calm, namespace: shop }
spec: { ports: [{ port: 80 }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bad, namespace: shop }
spec:
  parentRefs: [{ group: "", kind: Service, name: web, port: 80 }]
  rules:
    - filters: [{ type: Teleport }]
      backendRefs: [{ name: web, port: 80 }]
    - matches: [{ path: { type: RegularExpression, value: "/([" } }]
      backendRefs: [{ name: web, port: 80 }]
    - matches: [{ path: { value: /x } }]
      backendRefs: [{ name: db, namespace: data, port: 80 }]
`;

test('check --manifests reports an unknown filter, a regex that does not compile and a backend without ReferenceGrant', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-check-routes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'routes.yaml'), MANIFESTS);
  const lines: string[] = [];
  const code = await runCheckCommand({ manifests: dir, json: true, log: createLogger('check-test', 'silent'), out: (l) => lines.push(l) });
  assert.equal(code, 1);
  const report = JSON.parse(lines.join('\n')) as { diagnostics: { severity: string; code: string; object: { kind: string; name: string }; message: string }[] };
  const ours = report.diagnostics.filter((d) => d.object.kind === 'HTTPRoute').map((d) => `${d.severity} ${d.code} ${d.message}`);
  assert.ok(ours.some((l) => /^error route-rule-invalid HTTPRoute shop\/bad rules\[0\]\.filters\[0\]\.type: .*"Teleport"/.test(l)), ours.join('\n'));
  assert.ok(ours.some((l) => l.startsWith('error route-rule-invalid HTTPRoute shop/bad rules[1].matches[0].path.value: is not a regular expression that compiles: "/(["')), ours.join('\n'));
  assert.ok(ours.some((l) => l.startsWith('error route-ref-not-permitted HTTPRoute shop/bad rules[2].backendRefs[0]: Service data/db is in another namespace and no ReferenceGrant')), ours.join('\n'));
  assert.equal(report.diagnostics.filter((d) => d.object.name === 'calm').length, 0, 'the other Service is not disturbed');
});
