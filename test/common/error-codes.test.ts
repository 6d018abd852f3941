/** The error-code catalogue: every code documented once, and every listed code in use. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../src/common/error-codes.ts';

const SRC = new URL('../../src/', import.meta.url).pathname;

test('every error code is documented with a sentence', () => {
  for (const [code, doc] of Object.entries(ERROR_CODES)) {
    assert.match(doc, /^\S.{10,}\.( |$)/, `${code} needs a description`);
  }
});

test('every catalogued code is raised or answered somewhere in src (no stale entries)', () => {
  const text = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('error-codes.ts'))
    .map((f) => readFileSync(join(SRC, f), 'utf8'))
    .join('\n');
  const unused = Object.keys(ERROR_CODES).filter((code) => !text.includes(`'${code}'`));
  assert.deepEqual(unused, []);
});
