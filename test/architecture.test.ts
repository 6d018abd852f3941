/**
 * The layering rules of DEVELOPERS.md as a test: imports flow one way, and the pure layers do
 * no I/O. A violation names the file and the import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function files(dir: string): string[] {
  const abs = join(root, dir);
  try { statSync(abs); } catch { return []; }
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(abs, f));
}

function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
    .map((m) => m[1] ?? m[2] ?? '');
}

const rules: { dir: string; forbid: RegExp; why: string }[] = [
  { dir: 'src/table', forbid: /(^|\/)(proxy|controller|cli)(\/|\.ts$)|^node:(fs|http|https|http2|dgram|child_process|worker_threads)|^(undici|@kubernetes)/, why: 'the table is pure data and validation' },
  { dir: 'src/expr', forbid: /(^|\/)(proxy|controller|table|cli)(\/|\.ts$)|^node:(fs|http|https|http2|dgram|child_process)|^(undici|@kubernetes)/, why: 'the expression language is pure' },
  { dir: 'src/proxy', forbid: /(^|\/)(controller|cli)(\/|\.ts$)|^@kubernetes/, why: 'the proxy never depends on the controller' },
  { dir: 'src/controller', forbid: /(^|\/)(proxy|cli)(\/|\.ts$)/, why: 'the controller never depends on the proxy' },
  { dir: 'src/common', forbid: /(^|\/)(proxy|controller|table|expr|cli)(\/|\.ts$)/, why: 'common helpers are leaves' },
];

for (const rule of rules) {
  test(`${rule.dir} imports respect the layering (${rule.why})`, () => {
    const bad: string[] = [];
    for (const f of files(rule.dir)) {
      for (const spec of imports(f)) if (rule.forbid.test(spec)) bad.push(`${relative(root, f)} imports ${spec}`);
    }
    assert.deepEqual(bad, []);
  });
}

test('relative imports name the .ts file, so sources run directly in Node', () => {
  const bad: string[] = [];
  for (const dir of ['src', 'test', 'bench', 'scripts']) {
    for (const f of files(dir)) {
      for (const spec of imports(f)) if (spec.startsWith('.') && !/\.(ts|json)$/.test(spec)) bad.push(`${relative(root, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
