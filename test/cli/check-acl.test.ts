/** `hostmesh check --manifests DIR --can NS/SA --to NS/SVC[:PORT] [--path --method]` on examples/smi. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCheckCommand } from '../../src/cli/check.ts';
import { createLogger } from '../../src/common/log.ts';

const EXAMPLE = new URL('../../examples/smi', import.meta.url).pathname;

async function check(can: string, to: string, extra: { path?: string; method?: string; json?: boolean } = {}): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCheckCommand({ manifests: EXAMPLE, can, to, path: extra.path, method: extra.method, json: extra.json ?? false, log: createLogger('test', 'silent'), out: (l) => lines.push(l) });
  return { code, lines };
}

test('check --can says which TrafficTargets allow a pair, what they allow, and whether a request passes', async () => {
  assert.deepEqual(await check('whoami/whoami-client', 'whoami/whoami:80', { path: '/metrics', method: 'GET' }), { code: 0, lines: [
    'allowed: whoami/whoami-client -> whoami/whoami:80 (http) by TrafficTarget whoami/whoami-client-http',
    '  allowed: path RegularExpression (?:/api).* or path RegularExpression (?:/metrics).* and method GET',
    '  GET /metrics: allowed',
  ] });
  const post = await check('whoami/whoami-client', 'whoami/whoami:80', { path: '/metrics', method: 'post' });
  assert.equal(post.code, 1);
  assert.equal(post.lines[2], '  POST /metrics: denied (no allowed match holds)');
  assert.deepEqual(await check('whoami/intruder', 'whoami/whoami-tcp'), { code: 1, lines: [
    'denied: whoami/intruder -> whoami/whoami-tcp:8080 (tcp): no TrafficTarget allows it',
    '  TrafficTargets for this port allow others: TrafficTarget whoami/api-service-target',
  ] });
  const tcp = await check('whoami/whoami-client', 'whoami/whoami-tcp:8080', { json: true });
  assert.equal(tcp.code, 0);
  assert.deepEqual(JSON.parse(tcp.lines.join('\n')).answers[0], {
    route: 'whoami/whoami-tcp:8080', protocol: 'tcp', allowed: true, origins: ['TrafficTarget whoami/api-service-target'], scope: 'every connection', targets: ['TrafficTarget whoami/api-service-target'],
  });
});

test('check --can: usage mistakes are errors naming the flag', async () => {
  await assert.rejects(check('nobody', 'whoami/whoami'), /--can must be NAMESPACE\/SERVICEACCOUNT, got "nobody"/);
  await assert.rejects(check('a/b', 'whoami/nothing'), /whoami\/nothing is not a routed Service port of these manifests/);
  await assert.rejects(runCheckCommand({ can: 'a/b', json: false, log: createLogger('test', 'silent'), out: () => {} }), /--can NS\/SA and --to NS\/SVC\[:PORT\] go together/);
});
