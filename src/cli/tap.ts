/**
 * `hostmesh tap` and `hostmesh top`: follow `GET /v1/tap` on the controller (or standalone's
 * admin port) and print each request, or a table of the busiest paths.
 */
import { HostmeshError, errorMessage } from '../common/errors.ts';
import { TAP_PATH } from '../table/live.ts';
import type { TapEvent } from '../table/live.ts';

export interface TapCommonOptions {
  controller: URL;
  token?: string | undefined;
  target: string;
  sample: string;
  rate: string;
  /** Stop after this long, ms. */
  durationMs?: number | undefined;
  out: (line: string) => void;
  /** Ends the stream early (SIGINT); resolves the command with 0. */
  signal?: AbortSignal;
}

export interface TapOptions extends TapCommonOptions {
  path?: string | undefined;
  method?: string | undefined;
  code?: string | undefined;
  max?: number | undefined;
  json: boolean;
}

export interface TopOptions extends TapCommonOptions {
  intervalMs: number;
  rows: number;
}

function usage(message: string): never {
  throw new HostmeshError('CLI_USAGE', message);
}

/** `300ms`, `30s`, `5m`, `1h`: milliseconds. */
export function parseDurationFlag(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) usage(`--${flag}: "${v}" is not a duration (e.g. 500ms, 30s, 5m)`);
  const n = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h'];
  if (n <= 0) usage(`--${flag}: "${v}" must be more than zero`);
  return n;
}

export function parseCountFlag(flag: string, v: string, max = 1_000_000_000): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) usage(`--${flag}: "${v}" is not a whole number from 1 to ${max}`);
  return n;
}

function tapUrl(opts: TapCommonOptions & { path?: string | undefined; method?: string | undefined; code?: string | undefined }): URL {
  if (!/^[a-z0-9][-a-z0-9.]*\/[a-z0-9][-a-z0-9.]*(:\d{1,5})?$/.test(opts.target)) usage(`"${opts.target}" is not NS/SVC or NS/SVC:PORT (e.g. demo/web or demo/web:80)`);
  const url = new URL(`${opts.controller.pathname.replace(/\/+$/, '')}${TAP_PATH}`, opts.controller);
  url.searchParams.set('route', opts.target);
  if (opts.path !== undefined) url.searchParams.set('path', opts.path);
  if (opts.method !== undefined) url.searchParams.set('method', opts.method);
  if (opts.code !== undefined) url.searchParams.set('code', opts.code);
  url.searchParams.set('sample', opts.sample);
  url.searchParams.set('rate', opts.rate);
  return url;
}

/** Follows the tap stream, calling `onEvent` per request, until the duration, the signal or `stop()`. */
async function follow(opts: TapCommonOptions, url: URL, onEvent: (e: TapEvent, stop: () => void) => void): Promise<void> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  opts.signal?.addEventListener('abort', stop, { once: true });
  // The duration counts from when the stream is open, so a slow connect does not eat the window.
  let timer: NodeJS.Timeout | undefined;
  try {
    let res: Response;
    try {
      res = await fetch(url, { headers: opts.token ? { authorization: `Bearer ${opts.token.trim()}` } : {}, signal: abort.signal });
    } catch (e) {
      if (abort.signal.aborted) return;
      throw new HostmeshError('TAP_CONNECT', `cannot reach ${opts.controller.origin}: ${errorMessage((e as { cause?: unknown }).cause ?? e)}`);
    }
    if (res.status !== 200) {
      const text = await res.text();
      let message = text.trim().slice(0, 300);
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not one of ours
      }
      throw new HostmeshError('TAP_REFUSED', `${opts.controller.origin} answered ${res.status}: ${message}${res.status === 401 ? ' (check --token-file)' : ''}`);
    }
    if (opts.durationMs !== undefined) timer = setTimeout(stop, opts.durationMs);
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          onEvent(JSON.parse(line) as TapEvent, stop);
          if (abort.signal.aborted) return;
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      throw new HostmeshError('TAP_LOST', `the tap stream from ${opts.controller.origin} broke: ${errorMessage(e)}`);
    }
    if (!abort.signal.aborted) throw new HostmeshError('TAP_LOST', `${opts.controller.origin} ended the tap stream`);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', stop);
  }
}

export function formatTapEvent(e: TapEvent): string {
  const time = e.time.length >= 23 ? e.time.slice(11, 23) : e.time;
  return `${time} ${e.node} ${e.route} ${e.method} ${e.path} -> ${e.status} ${e.latencyMs.toFixed(1)}ms backend=${e.backend} endpoint=${e.endpoint || '-'} client=${e.client}`;
}

export async function runTapCommand(opts: TapOptions): Promise<number> {
  const url = tapUrl(opts);
  let seen = 0;
  await follow(opts, url, (e, stop) => {
    opts.out(opts.json ? JSON.stringify(e) : formatTapEvent(e));
    seen++;
    if (opts.max !== undefined && seen >= opts.max) stop();
  });
  return 0;
}

interface PathStats {
  method: string;
  path: string;
  count: number;
  failures: number;
  latencies: number[];
}

const MAX_LATENCIES = 10_000;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The busiest paths as a text table (method and path, count, success, p50, p99). */
export function topTable(paths: Iterable<PathStats>, rows: number, seconds: number): string[] {
  const list = [...paths].toSorted((a, b) => b.count - a.count || (a.path < b.path ? -1 : 1)).slice(0, rows);
  const lines = [`busiest paths over ${seconds.toFixed(0)} s (sampled by the tap)`, `${'METHOD'.padEnd(8)}${'PATH'.padEnd(40)}${'COUNT'.padStart(8)}${'SUCCESS'.padStart(9)}${'P50'.padStart(11)}${'P99'.padStart(11)}`];
  for (const p of list) {
    const sorted = p.latencies.toSorted((a, b) => a - b);
    const path = p.path.length > 38 ? `${p.path.slice(0, 37)}…` : p.path;
    lines.push(`${p.method.padEnd(8)}${path.padEnd(40)}${String(p.count).padStart(8)}${`${(((p.count - p.failures) / p.count) * 100).toFixed(1)}%`.padStart(9)}${`${quantile(sorted, 0.5).toFixed(1)}ms`.padStart(11)}${`${quantile(sorted, 0.99).toFixed(1)}ms`.padStart(11)}`);
  }
  if (list.length === 0) lines.push('(no requests yet)');
  return lines;
}

export async function runTopCommand(opts: TopOptions): Promise<number> {
  const url = tapUrl(opts);
  const paths = new Map<string, PathStats>();
  const started = Date.now();
  const print = (): void => {
    for (const line of topTable(paths.values(), opts.rows, (Date.now() - started) / 1000)) opts.out(line);
    opts.out('');
  };
  const timer = setInterval(print, opts.intervalMs);
  try {
    await follow(opts, url, (e) => {
      const key = `${e.method} ${e.path}`;
      let p = paths.get(key);
      if (p === undefined) paths.set(key, (p = { method: e.method, path: e.path, count: 0, failures: 0, latencies: [] }));
      p.count++;
      if (e.status >= 500) p.failures++;
      if (p.latencies.length < MAX_LATENCIES) p.latencies.push(e.latencyMs);
    });
  } finally {
    clearInterval(timer);
  }
  print();
  return 0;
}
