/** The `access` route policy (ACL mode) in a table: what validation accepts and refuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblems, validateTable } from '../../src/table/index.ts';
import type { AccessPolicy } from '../../src/table/index.ts';
import { cluster, simpleTable } from '../support/tables.ts';

function check(http: unknown, tcp?: unknown): string {
  const t = simpleTable([
    { cluster: cluster('test', 'server', 80, [{ address: '10.0.0.1', port: 8080 }]), listenPort: 10001 },
    { cluster: cluster('test', 'db', 5432, [{ address: '10.0.0.2', port: 5432 }], { protocol: 'tcp' }), listenPort: 10002 },
  ]);
  (t.routes[0] as { access?: unknown }).access = http;
  if (tcp !== undefined) (t.routes[1] as { access?: unknown }).access = tcp;
  const r = validateTable(JSON.parse(JSON.stringify(t)));
  return r.ok ? '' : formatProblems(r.problems);
}

test('an access policy with sources, matches and origins is accepted; an empty allow list too', () => {
  const policy: AccessPolicy = {
    allow: [
      { namespace: 'whoami', serviceAccount: 'client', matches: [{ path: { type: 'RegularExpression', value: '(?:/api).*' } }, { methods: ['GET'], headers: [{ type: 'RegularExpression', name: 'x', value: '.*' }] }], origins: ['TrafficTarget whoami/t'] },
      { namespace: 'monitoring', serviceAccount: 'prometheus' },
    ],
  };
  assert.equal(check(policy, { allow: [{ namespace: 'a', serviceAccount: 'b' }] }), '');
  assert.equal(check({ allow: [] }, { allow: [] }), '');
});

test('problems name the path and the value', () => {
  assert.match(check({ allow: {} }), /\$\.routes\[0\]\.access\.allow: must be an array, got an object/);
  assert.match(check({ allow: [{ namespace: '', serviceAccount: 'x' }] }), /access\.allow\[0\]\.namespace: must not be empty/);
  assert.match(check({ allow: [{ namespace: 'a', serviceAccount: 'b' }, { namespace: 'a', serviceAccount: 'b' }] }), /access\.allow\[1\]: lists a\/b twice/);
  assert.match(check({ allow: [{ namespace: 'a', serviceAccount: 'b', matches: [{ methods: [] }] }] }), /matches\[0\]\.methods: must list at least one method/);
  assert.match(check({ allow: [{ namespace: 'a', serviceAccount: 'b', matches: [{ path: { type: 'Prefix', value: 'x' } }] }] }), /path\.type: must be one of Exact, PathPrefix, RegularExpression, got "Prefix"/);
  assert.match(check({ allow: [{ namespace: 'a', serviceAccount: 'b', matches: [{ path: { type: 'PathPrefix', value: 'x' } }] }] }), /path\.value: must start with \/, got "x"/);
  assert.match(check({ allow: [{ namespace: 'a', serviceAccount: 'b', matches: [{ path: { type: 'RegularExpression', value: '(' } }] }] }), /path\.value: must be a regular expression, got "\("/);
  assert.match(check({ allow: [{ namespace: 'a', serviceAccount: 'b', matches: [{ methods: ['GE T'] }] }] }), /methods\[0\]: must be a method \(an HTTP token\), got "GE T"/);
  assert.match(check({ allow: [] }, { allow: [{ namespace: 'a', serviceAccount: 'b', matches: [] }] }), /\$\.routes\[1\]\.access\.allow\[0\]\.matches: only http routes match requests, this route is tcp/);
});
