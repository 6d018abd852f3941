/**
 * docs/expressions.md stays true: it names every function, placeholder and error code, and
 * every example line in its plain code blocks compiles in some context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { EXPR_CODES, checkExpression, formatExprError, type ExprContext } from '../../src/expr/index.ts';
import { FUNCTIONS } from '../../src/expr/functions.ts';
import { PLACEHOLDER_NAMES } from '../../src/expr/placeholders.ts';

const doc = readFileSync(new URL('../../docs/expressions.md', import.meta.url), 'utf8');

test('the reference names every function, placeholder and error code', () => {
  const missing = [
    ...[...FUNCTIONS.keys()].filter((f) => !doc.includes(`${f}(`)),
    // `{header.<Name>}` is documented with a capital, as header names are usually written.
    ...PLACEHOLDER_NAMES.filter((p) => !doc.toLowerCase().includes(`{${p}}`.toLowerCase())),
    ...EXPR_CODES.filter((c) => !doc.includes(`\`${c}\``)),
  ];
  assert.deepEqual(missing, []);
});

test('every example in the reference compiles', () => {
  const blocks = [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  const examples: string[] = [];
  for (const [, lang, body] of blocks) {
    if (lang === 'yaml') {
      const annotations = (parse(body!) as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
      examples.push(...Object.values(annotations));
    } else if (lang === '' && !body!.startsWith('EXPR_')) {
      // Lines with "..." or alternatives are signatures, not examples.
      examples.push(...body!.split('\n').filter((l) => l.trim() !== '' && !l.includes('...') && !l.includes('\' | \'')));
    }
  }
  assert.ok(examples.length > 40, `${examples.length} examples`);
  const contexts: ExprContext[] = ['matcher', 'breaker', 'key'];
  const failing = examples.filter((e) => contexts.every((c) => checkExpression(e, c) !== undefined))
    .map((e) => formatExprError(checkExpression(e, 'matcher')!));
  assert.deepEqual(failing, []);
});
