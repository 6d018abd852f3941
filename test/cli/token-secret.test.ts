/** `hostmesh token-secret` against the fake API server: creates once, never rotates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTokenSecretCommand } from '../../src/cli/token-secret.ts';
import type { FakeApiServer } from '../support/fake-apiserver.ts';
import { startFakeApiServer } from '../support/kube.ts';

interface SecretObject { metadata: { name: string }; data?: Record<string, string> }

async function withSecrets(t: Parameters<typeof startFakeApiServer>[0]): Promise<FakeApiServer> {
  const fake = await startFakeApiServer(t);
  fake.registerResource({ group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true, typedListItems: false });
  return fake;
}

test('creates the token Secret when missing and keeps it on every later run', async (t) => {
  const fake = await withSecrets(t);
  const lines: string[] = [];
  const run = () => runTokenSecretCommand({ kubeConfig: fake.kubeconfig(), namespace: 'hostmesh', name: 'mesh-hostmesh-token', key: 'token', out: (l) => lines.push(l) });
  assert.equal(await run(), 0);
  const first = fake.list<SecretObject>('secrets', 'hostmesh');
  assert.equal(first.length, 1);
  const token = Buffer.from(first[0]!.data!.token!, 'base64').toString();
  assert.match(token, /^[A-Za-z0-9_-]{40}$/);
  assert.equal(await run(), 0);
  assert.equal(await run(), 0);
  assert.equal(Buffer.from(fake.list<SecretObject>('secrets', 'hostmesh')[0]!.data!.token!, 'base64').toString(), token, 'never rotated by a re-run (an upgrade, an Argo CD sync)');
  assert.deepEqual(lines, [
    'secret hostmesh/mesh-hostmesh-token created with a new token under "token"',
    'secret hostmesh/mesh-hostmesh-token exists; kept',
    'secret hostmesh/mesh-hostmesh-token exists; kept',
  ]);
});

test('a Secret someone wrote is kept as it is; one without the key is reported, not overwritten', async (t) => {
  const fake = await withSecrets(t);
  fake.create('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mine', namespace: 'hostmesh' }, data: { other: Buffer.from('x').toString('base64') } });
  const lines: string[] = [];
  assert.equal(await runTokenSecretCommand({ kubeConfig: fake.kubeconfig(), namespace: 'hostmesh', name: 'mine', key: 'token', out: (l) => lines.push(l) }), 1);
  assert.deepEqual(lines, ['secret hostmesh/mine exists without a value under "token"; left alone (write one there)']);
  assert.deepEqual(fake.list<SecretObject>('secrets', 'hostmesh')[0]!.data, { other: 'eA==' });
});
