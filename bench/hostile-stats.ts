/**
 * What bench/hostile.ts reports about each of its processes besides latency: GC pauses (from
 * V8's gc performance entries) and time spent runnable but not running (the run queue, from
 * /proc/self/schedstat), so the share of a stall that is the process's own (GC) and the share
 * that is the machine's (CPU starvation) can be told apart.
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import type { NodeGCPerformanceDetail } from 'node:perf_hooks';

/** GC pauses from now on: minor (scavenge) and major (mark-compact and the rest), ms. Clear both to restart. */
export function gcPauses(): { minor: number[]; major: number[] } {
  const gc = { minor: [] as number[], major: [] as number[] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = ((e as unknown as { detail?: NodeGCPerformanceDetail }).detail)?.kind;
      (kind === 1 ? gc.minor : gc.major).push(e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  return gc;
}

/** This process's time on a CPU and waiting for one (run queue), ns, from /proc (Linux). */
export function schedstat(): [number, number] | undefined {
  try {
    const [run, wait] = readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number);
    return [run!, wait!];
  } catch {
    return undefined;
  }
}

/** Time spent runnable but not running, as a share of `wallMs`. */
export function describeWait(before: [number, number] | undefined, after: [number, number] | undefined, wallMs: number): string {
  if (before === undefined || after === undefined) return 'run-queue wait unknown';
  const wait = (after[1] - before[1]) / 1e6;
  return `run-queue wait ${wait.toFixed(0)} ms (${(100 * wait / wallMs).toFixed(1)}% of wall time)`;
}

export function describeGc(g: { minor: number[]; major: number[] }, wallMs: number): string {
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
  const all = sum(g.minor) + sum(g.major);
  return `GC ${all.toFixed(0)} ms (${(100 * all / wallMs).toFixed(1)}% of wall time): ${g.minor.length} scavenges (max ${max(g.minor).toFixed(1)} ms), ${g.major.length} mark-compacts (${sum(g.major).toFixed(0)} ms, max ${max(g.major).toFixed(1)} ms)`;
}
