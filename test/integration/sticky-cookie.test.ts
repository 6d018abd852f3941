/**
 * The sticky cookie end to end through `hostmesh standalone`: pinning, fallback when the pinned
 * backend loses its endpoints, and forged values that must not escape the request's candidates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stickyToken } from '../../src/proxy/stages/backend-choice/sticky.ts';
import { client } from '../proxy/helpers.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { CHROME, FIREFOX, call, cookiePair, countVersions, setCookie, versionBackend } from './versions-support.ts';

test('sticky cookie: pins, falls back with a new cookie when the backend loses its endpoints', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const front = (annotations: Record<string, string> = {}) => service('server', {
    annotations: { 'hostmesh.io/traffic-split-weights': 'server-v1=1,server-v2=1', 'hostmesh.io/sticky-cookie': 'hm-version', ...annotations },
  });
  const mesh = await withStandalone(t, {
    'server.yaml': front(),
    'v1.yaml': service('server-v1', { ports: [v1] }),
    'v2.yaml': service('server-v2', { ports: [v2] }),
  });
  const agent = client(t);
  const url = mesh.url('test/server:80');

  const first = await call(agent, url);
  const cookie = setCookie(first, 'hm-version');
  assert.ok(cookie, 'the first response sets the cookie');
  assert.match(cookie, /^hm-version=[\w-]{16}; Path=\/; HttpOnly; SameSite=Lax$/);
  assert.ok(!cookie.includes('server-v'), 'the value is opaque');
  const pinned = first.seen.version;
  const other = pinned === 'v1' ? 'v2' : 'v1';

  const withCookie = { cookie: `theme=dark; ${cookiePair(cookie)}` };
  let again = 0;
  for (let i = 0; i < 100; i++) {
    const r = await call(agent, url, withCookie);
    assert.equal(r.seen.version, pinned, `request ${i} stays on ${pinned}`);
    if (setCookie(r, 'hm-version') !== undefined) again++;
  }
  assert.equal(again, 0, 'a valid cookie is not set again');
  // Without the cookie, clients are still spread by weight.
  assert.deepEqual(Object.fromEntries(await countVersions(agent, url, 20, {}, 1)), { v1: 10, v2: 10 });

  // The pinned version loses its endpoints: the client moves and gets a new cookie.
  await mesh.write(`${pinned}.yaml`, service(`server-${pinned}`, { ports: [] }));
  const moved = await call(agent, url, withCookie);
  assert.equal(moved.seen.version, other);
  const renewed = setCookie(moved, 'hm-version');
  assert.ok(renewed !== undefined && renewed !== cookie, 'a new cookie names the new backend');
  const after = await call(agent, url, { cookie: cookiePair(renewed) });
  assert.equal(after.seen.version, other);
  assert.equal(setCookie(after, 'hm-version'), undefined);
});

test('sticky cookie: forged values never escape the candidates of the request', async (t) => {
  const v1 = await versionBackend(t, 'v1');
  const v2 = await versionBackend(t, 'v2');
  const elsewhere = await versionBackend(t, 'elsewhere');
  const sticky = { 'hostmesh.io/sticky-cookie': 'hm-sticky' };
  const mesh = await withStandalone(t, {
    // Chrome users go to v2, everyone else to v1; the cookie pins within each of those sets.
    'server.yaml': service('server', {
      annotations: {
        ...sticky,
        'hostmesh.io/traffic-split-expression': "header({'User-Agent': '*Chrome*'})",
        'hostmesh.io/traffic-split-new-service': 'server-v2',
        'hostmesh.io/traffic-split-old-service': 'server-v1',
      },
    }),
    'v1.yaml': service('server-v1', { ports: [v1] }),
    'v2.yaml': service('server-v2', { ports: [v2] }),
    'other.yaml': service('other', { ports: [elsewhere], annotations: sticky }),
  });
  const agent = client(t);
  const url = mesh.url('test/server:80');
  const firefox = (cookie: string) => call(agent, url, { 'user-agent': FIREFOX, cookie });

  // A cookie naming v2 (earned as a Chrome user) does not take a Firefox request to v2.
  const chrome = await call(agent, url, { 'user-agent': CHROME });
  assert.equal(chrome.seen.version, 'v2');
  const v2Cookie = cookiePair(setCookie(chrome, 'hm-sticky')!);
  const outside = await firefox(v2Cookie);
  assert.equal(outside.seen.version, 'v1');
  assert.ok(setCookie(outside, 'hm-sticky') !== undefined, 'the cookie is replaced');

  // A valid cookie of another route (same name) means nothing here.
  const otherRoute = await call(agent, mesh.url('test/other:80'));
  assert.equal(otherRoute.seen.version, 'elsewhere');
  const foreign = await firefox(cookiePair(setCookie(otherRoute, 'hm-sticky')!));
  assert.equal(foreign.seen.version, 'v1');
  assert.ok(setCookie(foreign, 'hm-sticky') !== undefined);

  // A well-made value for a cluster this route does not split to, and random values.
  const madeUp = stickyToken('hostmesh', 'test/server:80', 'test/other:80');
  for (const value of [madeUp, 'AAAAAAAAAAAAAAAA', 'x'.repeat(300), '', '"quoted"']) {
    const r = await firefox(`hm-sticky=${value}`);
    assert.equal(r.seen.version, 'v1', `cookie ${value.slice(0, 20)}`);
    assert.ok(setCookie(r, 'hm-sticky') !== undefined);
  }
  // Its own cookie still works, in its own set.
  const v1Cookie = cookiePair(setCookie(outside, 'hm-sticky')!);
  const kept = await firefox(v1Cookie);
  assert.equal(kept.seen.version, 'v1');
  assert.equal(setCookie(kept, 'hm-sticky'), undefined);
});
