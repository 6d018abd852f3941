/**
 * The dashboard in a real headless Chromium (Debian's package), against standalone with a
 * token: log in through the form, see the Services with live figures, see a changed weight
 * within 2 s of the table being applied, see a bad annotation with its object and key, and
 * save a screenshot under the test's temp dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, get, namedBackend } from '../proxy/helpers.ts';
import { chromiumMissing, launchChromium } from '../support/chromium.ts';
import { service, withStandalone } from '../support/standalone.ts';
import { until } from '../support/until.ts';

const TOKEN = 'dashboard-test-token-6f1c';

function manifests(v1: number, v2: number, weights: string, bad = false): Record<string, string> {
  return {
    'web.yaml': service('web', { namespace: 'demo', annotations: { 'hostmesh.io/traffic-split-weights': weights, 'hostmesh.io/retry-count': '2' } }),
    'v1.yaml': service('web-v1', { namespace: 'demo', ports: [v1] }),
    'v2.yaml': service('web-v2', { namespace: 'demo', ports: [v2] }),
    'bad.yaml': service('api', { namespace: 'demo', ports: [v1], annotations: bad ? { 'hostmesh.io/rate-limit-rate': 'fast please' } : {} }),
  };
}

const missing = chromiumMissing();

test('the dashboard in headless Chromium: login, live figures, a changed weight, a bad annotation, a screenshot', { skip: missing }, async (t) => {
  const v1 = await namedBackend(t, 'v1');
  const v2 = await namedBackend(t, 'v2');
  const files = manifests(v1.port, v2.port, 'web-v1=90,web-v2=10');
  const mesh = await withStandalone(t, files, { token: TOKEN });
  const agent = client(t);
  for (let i = 0; i < 30; i++) assert.equal((await get(agent, `${mesh.url('demo/web:80')}/hello`)).status, 200);

  const browser = await launchChromium();
  assert.ok(browser);
  t.after(() => browser.close());
  const { page } = browser;

  // Without a session the page sends the browser to the login form.
  await page.navigate(`${mesh.admin}/dashboard`);
  await until('the login form', async () => (await page.eval<boolean>("location.pathname === '/dashboard/login' && !!document.getElementById('token')")));
  assert.equal(await page.eval("document.querySelector('label[for=token]').textContent"), 'Controller token');
  await page.eval(`document.getElementById('token').value = ${JSON.stringify(TOKEN)}; document.querySelector('form').submit(); true`);
  await until('the dashboard after login', async () => (await page.eval<boolean>("location.pathname === '/dashboard' && document.querySelectorAll('#services-body tr[data-route]').length > 0").catch(() => false)));
  // The session cookie is HttpOnly: the page's script cannot read it, and the URL has no token.
  assert.equal(await page.eval('document.cookie'), '');
  assert.ok(!(await page.eval<string>('location.href')).includes(TOKEN));

  // Every meshed Service is listed; the split shows its weights and live shares.
  const routes = await page.eval<string[]>("[...document.querySelectorAll('#services-body tr[data-route]')].map((r) => r.dataset.route)");
  assert.deepEqual(routes.toSorted(), ['demo/api:80', 'demo/web-v1:80', 'demo/web-v2:80', 'demo/web:80']);
  const weight = (cluster: string): Promise<string | null> => page.eval(`document.querySelector('#services-body li[data-route="demo/web:80"][data-cluster="${cluster}"]')?.dataset.weight ?? null`);
  assert.equal(await weight('demo/web-v2:80'), '10');
  const webRow = "document.querySelector('#services-body tr[data-route=\"demo/web:80\"]').textContent";
  assert.match(await page.eval<string>(webRow), /retry 2x/);
  await until('live figures for demo/web', async () => /live (9\d|100)(\.\d)?%/.test(await page.eval<string>(webRow)));
  assert.match(await page.eval<string>(webRow), /100%/, 'success rate');
  assert.match(await page.eval<string>("document.getElementById('proxies-body').textContent"), /standalone.*ok/);
  // Structure a screen reader can follow: a language, headings, captioned tables with header cells, a polite live region.
  assert.equal(await page.eval("document.documentElement.lang"), 'en');
  assert.deepEqual(await page.eval("[...document.querySelectorAll('h2')].map((h) => h.textContent)"), ['Services', 'Proxies', 'Configuration problems']);
  assert.equal(await page.eval("[...document.querySelectorAll('table')].filter((t) => !t.caption || t.tHead.querySelectorAll('th[scope=col]').length === 0).length"), 0);
  assert.equal(await page.eval("document.querySelector('[role=status][aria-live=polite]').textContent"), 'Live updates connected.');

  // A changed weight: on screen within 2 s of the table being applied.
  await mesh.write('web.yaml', service('web', { namespace: 'demo', annotations: { 'hostmesh.io/traffic-split-weights': 'web-v1=40,web-v2=60', 'hostmesh.io/retry-count': '2' } }));
  await until('the new weight on the page', async () => (await weight('demo/web-v2:80')) === '60', 2000);

  // A bad annotation: listed with its object and key.
  await mesh.write('bad.yaml', manifests(v1.port, v2.port, '', true)['bad.yaml']!);
  const problem = "[...document.querySelectorAll('#problems-body tr')].map((r) => [...r.cells].map((c) => c.textContent)).find((c) => c[2] === 'hostmesh.io/rate-limit-rate') ?? null";
  await until('the bad annotation on the page', async () => (await page.eval(problem)) !== null, 5000);
  const cells = await page.eval<string[]>(problem);
  assert.equal(cells[1], 'Service demo/api');
  assert.equal(cells[3], 'fast please');
  assert.match(cells[5]!, /rate-limit-rate/);

  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-dashboard-'));
  const file = join(dir, 'dashboard.png');
  const png = await page.screenshot();
  writeFileSync(file, png);
  t.diagnostic(`screenshot: ${file}`);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.ok(png.length > 10_000);
});
