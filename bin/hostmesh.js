#!/usr/bin/env node
// The installed command. Node does not strip types inside node_modules, so an installed copy
// runs the compiled dist/ (built by `npm pack`/`prepare`); a git checkout without dist/ runs the
// TypeScript sources directly.
import { existsSync } from 'node:fs';
import { refuseOldNode } from './node-version.js';

const refusal = refuseOldNode(process.version);
if (refusal !== undefined) {
  process.stderr.write(`${refusal}\n`);
  process.exit(2);
}
const dist = new URL('../dist/cli.js', import.meta.url);
const entry = existsSync(dist) ? dist : new URL('../src/cli.ts', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
