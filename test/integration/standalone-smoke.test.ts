import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoBackend } from '../../src/demo/backend.ts';
import { service, withStandalone } from '../support/standalone.ts';

test('standalone routes a Service to its backend and follows a live edit', async (t) => {
  const v1 = await startDemoBackend({ name: 'web', version: 'v1' });
  const v2 = await startDemoBackend({ name: 'web', version: 'v2' });
  t.after(() => Promise.all([v1.close(), v2.close()]));
  const mesh = await withStandalone(t, { 'web.yaml': service('web', { ports: [v1.port] }) });
  const first = await fetch(`${mesh.url('test/web:80')}/hello`);
  assert.equal(first.status, 200);
  assert.equal(await first.text(), 'web v1: GET /hello\n');
  await mesh.write('web.yaml', service('web', { ports: [v2.port] }));
  const second = await fetch(`${mesh.url('test/web:80')}/hello`);
  assert.equal(await second.text(), 'web v2: GET /hello\n');
});
