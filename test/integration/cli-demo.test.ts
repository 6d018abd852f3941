/**
 * `npm start` (`node src/main.ts demo`) prints curl commands; every one of them must answer as
 * the demo says. Each printed command is parsed and performed with fetch, and run verbatim by
 * the shell when curl is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { adminUrl, childPortRange, REPO, spawnCli } from './cli-process.ts';

type Step =
  | { kind: 'get'; url: string }
  | { kind: 'count'; url: string; times: number }
  | { kind: 'grep'; url: string; pattern: string };

/** The shapes of command the demo prints; anything else fails the test (and needs a case here). */
function parse(command: string): Step {
  let m = /^curl (?:-s )?(http:\/\/\S+)$/.exec(command);
  if (m) return { kind: 'get', url: m[1]! };
  m = /^for i in \$\(seq 1 (\d+)\); do curl -s (http:\/\/\S+); done \| sort \| uniq -c$/.exec(command);
  if (m) return { kind: 'count', url: m[2]!, times: Number(m[1]) };
  m = /^curl -s (http:\/\/\S+) \| grep '([^']+)'$/.exec(command);
  if (m) return { kind: 'grep', url: m[1]!, pattern: m[2]! };
  throw new Error(`the demo printed a command this test cannot perform: ${command}`);
}

/** What the command prints, computed with fetch: the body, `uniq -c` lines, or the grep'd lines. */
async function perform(step: Step): Promise<string> {
  const body = async (url: string): Promise<string> => {
    const r = await fetch(url);
    assert.equal(r.status, 200, `${url} answered ${r.status}`);
    return r.text();
  };
  switch (step.kind) {
    case 'get':
      return body(step.url);
    case 'count': {
      const counts = new Map<string, number>();
      for (let i = 0; i < step.times; i++) {
        const line = (await body(step.url)).replace(/\n$/, '');
        counts.set(line, (counts.get(line) ?? 0) + 1);
      }
      return [...counts.keys()].toSorted().map((k) => `${String(counts.get(k)).padStart(7)} ${k}\n`).join('');
    }
    case 'grep': {
      const re = new RegExp(step.pattern);
      return (await body(step.url)).split('\n').filter((l) => re.test(l)).map((l) => `${l}\n`).join('');
    }
  }
}

/** `uniq -c` output as a map from line to count. */
function counted(output: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of output.split('\n').filter((x) => x.trim() !== '')) {
    const m = /^\s*(\d+) (.*)$/.exec(l);
    assert.ok(m, `a uniq -c line: ${l}`);
    out[m[2]!] = Number(m[1]);
  }
  return out;
}

function requestsTo(metrics: string, svc: string): number {
  return metrics.split('\n')
    .filter((l) => l.startsWith('hostmesh_requests_total{') && l.includes(`destination_service="${svc}"`) && l.includes('code="200"'))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('npm start prints curl commands that answer: the demo split, direct calls, routes and metrics', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [node, ...args] = pkg.scripts.start!.split(' ');
  assert.equal(node, 'node', `npm start runs node: ${pkg.scripts.start}`);
  // Node 24 as npm would run it; a free admin port and a private port range instead of the defaults.
  const demo = spawnCli(t, [...args, '--admin', '127.0.0.1:0', '--port-range', childPortRange(3)], { command: [process.execPath] });
  const admin = await adminUrl(demo);
  const edit = await demo.line(/^Edit (\S+) to change the split live\. Ctrl-C stops the demo\.$/);
  const start = demo.stdout.findIndex((l) => l.endsWith('meshed. Try:'));
  const end = demo.stdout.findIndex((l) => l.startsWith('Edit '));
  assert.ok(start >= 0 && end > start, demo.stdout.join('\n'));
  const commands = demo.stdout.slice(start + 1, end).map((l) => l.slice(0, l.lastIndexOf(' # ')).trim());
  assert.equal(commands.length, 5, commands.join('\n'));
  const steps = commands.map(parse);
  const routes = new Map(demo.stdout.flatMap((l) => {
    const m = /^ {2}(demo\/\S+) -> (127\.0\.0\.1:\d+) /.exec(l);
    return m ? [[m[1]!, m[2]!]] : [];
  }));
  const web = `http://${routes.get('demo/web:80')}/`;
  const webV2 = `http://${routes.get('demo/web-v2:80')}/`;

  /** Checks one run of all five commands; `round` is 1 for fetch, 2 for the shell's curl. */
  const check = (outputs: string[], round: number): void => {
    const [first, split, direct, listed, metrics] = outputs as [string, string, string, string, string];
    assert.deepEqual(steps.map((s) => `${s.kind} ${s.url}`), [`get ${web}`, `count ${web}`, `get ${webV2}`, `get ${admin}/v1/routes`, `grep ${admin}/metrics`]);
    // Smooth weighted round robin: any 5 consecutive requests at 80/20 are exactly 4 and 1.
    assert.match(first, /^web v[12]: GET \/\n$/);
    assert.deepEqual(counted(split), { 'web v1: GET /': 16, 'web v2: GET /': 4 }, split);
    assert.equal(direct, 'web v2: GET /\n');
    assert.match(listed, new RegExp(`^demo/web:80 -> ${routes.get('demo/web:80')} http demo/web-v1:80 weight=80 endpoints=1, demo/web-v2:80 weight=20 endpoints=1$`, 'm'));
    assert.ok(metrics.split('\n').filter((l) => l !== '').every((l) => l.startsWith('hostmesh_requests_total')), metrics);
    assert.equal(requestsTo(metrics, 'web'), 21 * round, metrics);
    assert.equal(requestsTo(metrics, 'web-v2'), round, metrics);
  };

  const outputs: string[] = [];
  for (const step of steps) outputs.push(await perform(step));
  check(outputs, 1);

  if (spawnSync('curl', ['--version']).status === 0) {
    const sh = promisify(execFile);
    const shell: string[] = [];
    // Loopback never goes through a proxy the environment may configure for curl.
    const env = { ...process.env, no_proxy: '*', NO_PROXY: '*' };
    for (const command of commands) shell.push((await sh('sh', ['-c', command], { env, timeout: 60_000 })).stdout);
    check(shell, 2);
  } else {
    t.diagnostic('curl is not installed: the printed commands were performed with fetch only');
  }

  // Ctrl-C, as the demo says, stops it cleanly and removes its manifest directory.
  assert.ok(existsSync(edit[1]!));
  assert.deepEqual(await demo.stop('SIGINT'), { code: 0, signal: null });
  assert.equal(existsSync(edit[1]!), false, 'the demo removes its temporary manifests');
});
