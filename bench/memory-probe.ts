/**
 * Preloaded (`--import`) into a process bench/memory.ts measures: records every module the
 * process loads (ESM and CommonJS, through module hooks) and, asked over IPC, answers with its
 * memory after a full GC (`--expose-gc`): RSS, V8 heap statistics per space, and the modules.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

const modules = new Set<string>();
/** Packages and builtins that our own sources (not other packages) import, by specifier. */
const direct = new Set<string>();
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    modules.add(r.url);
    const parent = context.parentURL ?? '';
    if ((parent.includes('/src/') || parent.includes('/.memory-build/')) && !parent.includes('/node_modules/') && !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('file:')) direct.add(specifier);
    return r;
  },
});

export interface MemoryReport {
  /** RSS as found, before the report's GC. */
  rssAsFound: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  mallocedMemory: number;
  spaces: { name: string; size: number; used: number }[];
  modules: string[];
  direct: string[];
  /** Resident bytes by kind of mapping (/proc/self/smaps), where there is /proc. */
  mappings: Record<string, number>;
}

/** Resident memory by mapping: the brk heap (malloc's main arena), anonymous mappings (V8's heap, other malloc arenas, thread stacks), files (the node binary, libraries). */
function mappings(): Record<string, number> {
  const out: Record<string, number> = {};
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return out;
  }
  let kind = '';
  for (const line of text.split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m !== null) {
      const name = m[1]!;
      kind = name === '' ? 'anonymous' : name === '[heap]' ? 'malloc heap (brk)' : name.startsWith('[') ? name : name.includes('/node') ? 'node binary' : 'other files';
      continue;
    }
    if (line.startsWith('Rss:')) out[kind] = (out[kind] ?? 0) + Number(line.split(/\s+/)[1]) * 1024;
  }
  return out;
}

const gc = (globalThis as { gc?: (o?: object) => void }).gc;
process.on('message', (m: unknown) => {
  if (m !== 'memory-report') return;
  const rssAsFound = process.memoryUsage.rss();
  // "last resort" is V8's memory-reducing full GC (what its memory reducer runs on an idle
  // process after a while): it also shrinks the young generation back.
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  // Let the allocator settle after the collections before reading RSS.
  setTimeout(() => {
    // HOSTMESH_PROBE_SMAPS=DIR: a copy of /proc/self/smaps there too, for a mapping-by-mapping comparison.
    const smapsDir = process.env.HOSTMESH_PROBE_SMAPS;
    if (smapsDir !== undefined) writeFileSync(`${smapsDir}/smaps-${process.pid}-${process.argv[2] ?? 'node'}`, readFileSync('/proc/self/smaps'));
    const mu = process.memoryUsage();
    const hs = getHeapStatistics();
    const report: MemoryReport = {
      rssAsFound, rss: mu.rss, heapUsed: mu.heapUsed, heapTotal: mu.heapTotal, external: mu.external, arrayBuffers: mu.arrayBuffers,
      mallocedMemory: hs.malloced_memory,
      spaces: getHeapSpaceStatistics().map((s) => ({ name: s.space_name, size: s.space_size, used: s.space_used_size })),
      modules: [...modules], direct: [...direct], mappings: mappings(),
    };
    process.send?.({ memoryReport: report });
  }, 200);
});
