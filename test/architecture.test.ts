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

test('what the proxy loads takes node:http through process.getBuiltinModule, not an ES import (DEVELOPERS.md)', () => {
  const bad: string[] = [];
  for (const dir of ['src/proxy', 'src/table', 'src/expr', 'src/common']) {
    for (const f of files(dir)) {
      if (/^\s*import\s+(?!type\s)[^'"]*from\s+['"]node:http['"]/m.test(readFileSync(f, 'utf8'))) bad.push(relative(root, f));
    }
  }
  assert.deepEqual(bad, []);
});

test('relative imports name the .ts file, so sources run directly in Node', () => {
  const bad: string[] = [];
  for (const dir of ['src', 'test', 'bench', 'scripts']) {
    for (const f of files(dir)) {
      for (const spec of imports(f)) if (spec.startsWith('.') && !/\.(ts|json)$/.test(spec)) bad.push(`${relative(root, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

/** Where a relative import of `file` points, relative to the repository root. */
function target(file: string, spec: string): string {
  return relative(root, join(file, '..', spec));
}

/** The pipeline's order (src/proxy/stages/pipeline.ts): a stage may import itself and earlier ones. */
const STAGE_ORDER = [
  'access-log', 'trace', 'metrics', 'access', 'rule-dispatch', 'maintenance', 'request-timeout', 'rate-limit', 'filters', 'direct-answer',
  'backend-choice', 'backend-filters', 'circuit-breaker', 'mirror', 'retry', 'deliver', 'backend-timeout', 'response-edits',
  'endpoint-pick', 'forward',
];
/** Shared by stages, stages of none: the contract, expressions, the request view, structured matches, the replay buffer. */
const STAGE_SHARED = ['types', 'expressions', 'request-view', 'match', 'replay-buffer', 'failed-attempt'];
const STAGES_DIR = 'src/proxy/stages/';

/** The stage (or shared module, or 'pipeline') a path under src/proxy/stages belongs to. */
function stageOf(path: string): string {
  return path.slice(STAGES_DIR.length).split('/')[0]!.replace(/\.ts$/, '');
}

test('stages import nothing from later stages, shared modules import no stage, and the list is complete', () => {
  const bad: string[] = [];
  for (const f of files(STAGES_DIR)) {
    const from = stageOf(relative(root, f));
    if (from === 'pipeline') continue;
    const known = STAGE_ORDER.includes(from) || STAGE_SHARED.includes(from);
    if (!known) bad.push(`${relative(root, f)} is neither a stage of STAGE_ORDER nor a shared module`);
    for (const spec of imports(f)) {
      if (!spec.startsWith('.')) continue;
      const to = target(f, spec);
      if (!to.startsWith(STAGES_DIR)) continue;
      const dest = stageOf(to);
      if (dest === from || STAGE_SHARED.includes(dest)) continue;
      if (dest === 'pipeline') bad.push(`${relative(root, f)} imports the pipeline`);
      else if (STAGE_SHARED.includes(from)) bad.push(`${relative(root, f)} (shared) imports the stage ${dest}`);
      else if (STAGE_ORDER.indexOf(dest) > STAGE_ORDER.indexOf(from)) bad.push(`${relative(root, f)} imports the later stage ${dest}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('src/proxy/http reaches stages only through the pipeline', () => {
  const bad: string[] = [];
  for (const f of files('src/proxy/http')) {
    for (const spec of imports(f)) {
      const to = target(f, spec);
      if (to.startsWith(STAGES_DIR) && to !== `${STAGES_DIR}pipeline.ts`) bad.push(`${relative(root, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

/**
 * The controller's folders, lowest first: a folder imports only lower levels (and itself);
 * folders on one level do not import each other. Files directly in src/controller are the
 * shared leaves (objects, constants) or the wiring (controller, standalone, cleanup) on top.
 * A new folder takes its place here.
 */
const CONTROLLER_LEVELS: readonly (readonly string[])[] = [
  ['objects.ts', 'constants.ts'],
  // The cluster side (translation, kube, source, shadow, dns) and the API side (push, live,
  // dashboard) climb side by side.
  ['translation', 'push'],
  ['kube', 'live'],
  ['source', 'dashboard', 'leader'],
  ['shadow', 'dns'],
  ['controller.ts', 'standalone.ts', 'cleanup.ts'],
];

function controllerPart(path: string): string {
  return path.slice('src/controller/'.length).split('/')[0]!;
}

function levelOf(part: string): number {
  return CONTROLLER_LEVELS.findIndex((l) => l.includes(part));
}

test('src/controller folders import in one direction', () => {
  const bad: string[] = [];
  for (const f of files('src/controller')) {
    const from = controllerPart(relative(root, f));
    const level = levelOf(from);
    if (level < 0) {
      bad.push(`${relative(root, f)}: ${from} has no level in CONTROLLER_LEVELS`);
      continue;
    }
    for (const spec of imports(f)) {
      const to = target(f, spec);
      if (!spec.startsWith('.') || !to.startsWith('src/controller/')) continue;
      const dest = controllerPart(to);
      if (dest === from) continue;
      if (levelOf(dest) >= level) bad.push(`${relative(root, f)} (${from}) imports ${dest}, which is not below it`);
    }
  }
  assert.deepEqual(bad, []);
});
