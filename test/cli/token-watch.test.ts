/** The token file is re-read when it changes, including a rotated Secret's symlink swap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchToken } from '../../src/cli/token.ts';
import { until } from '../support/until.ts';

test('a rotated token file (Secret volume: ..data symlink swapped) reaches the callback; a bad moment keeps the token', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hostmesh-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The kubelet's layout: token -> ..data/token, ..data -> ..<timestamp> directory.
  const version = (name: string, token: string): void => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'token'), `${token}\n`);
  };
  version('..v1', 'first');
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync('..data/token', join(dir, 'token'));
  const seen: string[] = [];
  const warnings: string[] = [];
  const stop = watchToken(join(dir, 'token'), 'first', (tok) => seen.push(tok), { warn: (_o, m) => warnings.push(m) }, 20);
  t.after(stop);

  version('..v2', 'second');
  symlinkSync('..v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  await until('the new token', () => seen.length === 1);
  assert.deepEqual(seen, ['second']);

  // Empty for a moment: skipped, the current token stays.
  writeFileSync(join(dir, '..v2', 'token'), '');
  await until('a warning', () => warnings.length > 0);
  writeFileSync(join(dir, '..v2', 'token'), 'third\n');
  await until('the third token', () => seen.length === 2);
  assert.deepEqual(seen, ['second', 'third']);
});
