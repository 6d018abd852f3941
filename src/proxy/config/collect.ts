/**
 * V8's memory-reducing full garbage collection, run by the config client once the proxy is idle
 * after a large update (issue 12). Applying a 10,000-Service snapshot grows V8's heap to 250-330
 * MB of RSS, and V8's own memory reducer did not bring it back within a minute of quiet; this
 * collection does (to ~140 MB), in one pause of 110-160 ms at that size (on a busy machine), so it
 * waits for quiet and for megabytes of updates, never runs per small delta.
 *
 * `gc` is not exposed to a process started without `--expose-gc`; the flag set at run time
 * exposes it to contexts created afterwards, so it is taken from a fresh vm context once.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let gc: Gc | undefined;

/** Runs the collection now (synchronous: the event loop waits for it). */
export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  }
  // "last resort" is the flavour that also shrinks the young generation and releases the freed
  // pages; a plain major collection leaves the RSS where it was.
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
