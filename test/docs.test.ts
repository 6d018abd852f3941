/**
 * The README documents what works, and cannot drift from the code: its opening commands, the
 * generated command reference, every annotation key and alias, every metric, every doc link,
 * every flag of bench:peers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliReference } from '../src/cli/args.ts';
import { aliasNames, KEY_NAMES } from '../src/controller/translation/annotations/keys.ts';

const root = new URL('..', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the README opens with the two set-up commands', () => {
  const block = /^# hostmesh\n\n```sh\n(.*)\n(.*)\n```/.exec(readme);
  assert.ok(block, 'a sh block right after the title');
  assert.match(block[1]!, /^npm ci && npm start\b/);
  assert.match(block[2]!, /^npm ci && npm test\b/);
  const ci = readFileSync(join(root, '.ci/run'), 'utf8');
  assert.match(ci, /\nnpm ci\nnpm test\n/);
});

test('the command reference is the one generated from the flag table', () => {
  const m = /<!-- cli-reference:start -->\n([\s\S]*?)\n<!-- cli-reference:end -->/.exec(readme);
  assert.ok(m, 'reference markers present');
  assert.equal(m[1]!.trim(), cliReference().trim(), 'regenerate the block from cliReference() in src/cli/args.ts');
});

test('every flag of npm run bench:peers is in its README line', () => {
  const source = readFileSync(join(root, 'bench/peers.ts'), 'utf8');
  const options = /parseArgs\(\{\s*options: \{([\s\S]*?)\n {2}\},/.exec(source);
  assert.ok(options, 'bench/peers.ts declares its flags with parseArgs');
  const flags = [...options[1]!.matchAll(/^\s+'?([a-z-]+)'?: \{/gm)].map((m) => m[1]!);
  assert.ok(flags.length >= 10, `found only ${flags.join(', ')}`);
  const line = /^- `npm run bench:peers`:[\s\S]*?(?=\n- |\n\n)/m.exec(readme)?.[0] ?? '';
  assert.deepEqual(flags.filter((f) => !line.includes(`\`--${f}`)), []);
});

test('every annotation key and alias is in the README', () => {
  const missing: string[] = KEY_NAMES.filter((k) => !readme.includes(`\`${k}\``));
  for (const source of ['caddy', 'traefik'] as const) {
    for (const a of aliasNames(source)) if (!readme.includes(`${source} \`${a}\``)) missing.push(`${source} ${a}`);
  }
  assert.deepEqual(missing, []);
});

test('every metric the code registers is in the README', () => {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/'(hostmesh_[a-z_]+)'/g)) names.add(m[1]!);
    }
  };
  walk(join(root, 'src'));
  assert.ok(names.size > 10);
  assert.deepEqual([...names].filter((n) => !readme.includes(n)).toSorted(), []);
});

test('every local link in the README and docs points at a file that exists', () => {
  const broken: string[] = [];
  const files = ['README.md', 'DEVELOPERS.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8');
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)\s]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(join(root, f.includes('/') ? 'docs' : '', target))) broken.push(`${f} -> ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
