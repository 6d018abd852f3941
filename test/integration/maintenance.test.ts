/** Maintenance end to end through `hostmesh standalone`: the page, HTML and JSON, toggled live. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, get, httpBackend } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';

test('maintenance: 503 page naming the Service and the reason, JSON on request, toggled live', async (t) => {
  const b = await httpBackend(t, (_req, res) => res.end('backend'));
  const web = (annotations: Record<string, string>) => service('web', { ports: [b.port], annotations });
  const mesh = await withStandalone(t, { 'web.yaml': web({ 'hostmesh.io/maintenance': 'Database upgrade until 14:00 UTC' }) });
  const c = client(t);
  const url = `${mesh.url('test/web:80')}/cart`;

  const html = await get(c, url, { method: 'GET', headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  assert.equal(html.status, 503);
  assert.equal(html.headers['retry-after'], '5');
  assert.match(String(html.headers['content-type']), /^text\/html/);
  assert.match(html.body, /<b>test\/web:80<\/b> is down for maintenance: Database upgrade until 14:00 UTC\./);

  const json = await get(c, url, { method: 'GET', headers: { accept: 'application/json' } });
  assert.equal(json.status, 503);
  assert.equal(JSON.parse(json.body).reason, 'test/web:80 is down for maintenance: Database upgrade until 14:00 UTC');
  assert.equal(b.seen.length, 0);

  await mesh.write('web.yaml', web({ 'hostmesh.io/maintenance': 'true' }));
  assert.match((await get(c, url)).body, /is down for maintenance\./);

  await mesh.write('web.yaml', web({ 'hostmesh.io/maintenance': 'false' }));
  const live = await get(c, url);
  assert.equal(live.status, 200);
  assert.equal(live.body, 'backend');

  await mesh.write('web.yaml', web({ 'hostmesh.io/maintenance': 'Moving racks' }));
  const again = await get(c, url);
  assert.equal(again.status, 503);
  assert.match(again.body, /Moving racks/);
  assert.equal(b.seen.length, 1);
});
