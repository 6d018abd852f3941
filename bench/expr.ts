/**
 * Nanoseconds per evaluation of compiled expressions against hand-written closures doing the
 * same check, over a small rotation of requests. Run: `npx node bench/expr.ts` (about 20 s).
 *
 * Each closure gets its own measuring loop (built with `new Function`) so neither shares a call
 * site's type feedback with the others. After a warm-up, rounds of the compiled closure and
 * the hand-written one alternate and the median round counts.
 */
import { compileBreaker, compileKey, compileMatcher, type BreakerStats, type MatchRequest } from '../src/expr/index.ts';

const WARMUP_MS = 300;
const ROUND_MS = 100;
const ROUNDS = 7;

const base = {
  host: 'server.test.hostmesh',
  httpVersion: '1.1',
  secure: false,
};
const requests: MatchRequest[] = [
  { ...base, method: 'POST', url: '/api/orders?id=42', remoteAddress: '10.1.2.3', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36', 'x-user': 'alice' } },
  { ...base, method: 'GET', url: '/static/app.js', remoteAddress: '192.168.7.1', headers: { 'user-agent': 'curl/8.5.0' } },
  { ...base, method: 'POST', url: '/login', remoteAddress: '10.200.0.9', headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'x-user': 'bob' } },
  { ...base, method: 'GET', url: '/API/users/7', remoteAddress: '172.16.4.4', headers: { 'user-agent': 'Go-http-client/1.1', 'x-user': 'carol' } },
];

type Fn = (input: never) => unknown;
type Loop = (fn: Fn, inputs: readonly unknown[], n: number) => number;

function makeLoop(): Loop {
  // A fresh function per closure: its call site sees one target only.
  return new Function('fn', 'inputs', 'n', `
    let sink = 0;
    const m = inputs.length - 1;
    for (let i = 0; i < n; i++) {
      const r = fn(inputs[i & m]);
      if (r === true || (typeof r === 'string' && r.length > 3)) sink++;
    }
    return sink;
  `) as Loop;
}

interface Subject { loop: Loop; fn: Fn; n: number }

function subject(fn: Fn, inputs: readonly unknown[]): Subject {
  const loop = makeLoop();
  // Warm up and size a round to about ROUND_MS.
  let n = 1024;
  const until = performance.now() + WARMUP_MS;
  while (performance.now() < until) loop(fn, inputs, n);
  for (;;) {
    const t0 = performance.now();
    loop(fn, inputs, n);
    const ms = performance.now() - t0;
    if (ms >= ROUND_MS / 4 || n >= 1 << 28) {
      n = Math.max(1024, Math.round((n * ROUND_MS) / Math.max(ms, 0.001)));
      return { loop, fn, n };
    }
    n *= 2;
  }
}

function round(s: Subject, inputs: readonly unknown[]): number {
  const t0 = process.hrtime.bigint();
  s.loop(s.fn, inputs, s.n);
  return Number(process.hrtime.bigint() - t0) / s.n;
}

function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function compare(compiled: Fn, hand: Fn, inputs: readonly unknown[]): [number, number] {
  // Same answers first: the comparison is only fair if both do the same check.
  for (const i of inputs) {
    const a = compiled(i as never);
    const b = hand(i as never);
    if (a !== b) throw new Error(`compiled and hand-written disagree: ${String(a)} vs ${String(b)}`);
  }
  const c = subject(compiled, inputs);
  const h = subject(hand, inputs);
  const cs: number[] = [];
  const hs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    cs.push(round(c, inputs));
    hs.push(round(h, inputs));
  }
  return [median(cs), median(hs)];
}

function must<T>(r: { ok: true; fn: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.fn;
}

const IPV4_10 = /^10\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

const cases: [string, Fn, Fn, readonly unknown[]][] = [
  [
    'header({\'User-Agent\': \'*Chrome*\'})',
    must(compileMatcher('header({\'User-Agent\': \'*Chrome*\'})')),
    (r: MatchRequest) => {
      const v = r.headers['user-agent'];
      return typeof v === 'string' && v.includes('Chrome');
    },
    requests,
  ],
  [
    'path(\'/api/*\') && method(\'POST\')',
    must(compileMatcher('path(\'/api/*\') && method(\'POST\')')),
    (r: MatchRequest) => {
      const q = r.url.indexOf('?');
      const path = (q < 0 ? r.url : r.url.slice(0, q)).toLowerCase();
      return path.startsWith('/api/') && r.method === 'POST';
    },
    requests,
  ],
  [
    'remote_ip(\'10.0.0.0/8\')',
    must(compileMatcher('remote_ip(\'10.0.0.0/8\')')),
    (r: MatchRequest) => IPV4_10.test(r.remoteAddress),
    requests,
  ],
  [
    'key {remote.ip}',
    must(compileKey('{remote.ip}')),
    (r: MatchRequest) => r.remoteAddress,
    requests,
  ],
  [
    'key {http.request.header.X-User}',
    must(compileKey('{http.request.header.X-User}')),
    (r: MatchRequest) => {
      const v = r.headers['x-user'];
      return v === undefined ? '' : typeof v === 'string' ? v : v.join(', ');
    },
    requests,
  ],
  [
    'key user:{header.X-User}|{query.id}',
    must(compileKey('user:{header.X-User}|{query.id}')),
    (r: MatchRequest) => {
      const v = r.headers['x-user'];
      const q = r.url.indexOf('?');
      const id = q < 0 ? null : new URLSearchParams(r.url.slice(q + 1)).get('id');
      return `user:${v === undefined ? '' : typeof v === 'string' ? v : v.join(', ')}|${id ?? ''}`;
    },
    requests,
  ],
  [
    'NetworkErrorRatio() > 0.30 || LatencyAtQuantileMS(50.0) > 100',
    must(compileBreaker('NetworkErrorRatio() > 0.30 || LatencyAtQuantileMS(50.0) > 100')),
    (s: BreakerStats) => s.networkErrorRatio() > 0.3 || Math.trunc(s.latencyAtQuantileMS(50)) > 100,
    [0.1, 0.5, 0.2, 0.05].map((ratio, i): BreakerStats => ({
      networkErrorRatio: () => ratio,
      responseCodeRatio: () => 0,
      latencyAtQuantileMS: () => 80 + i * 10,
    })),
  ],
];

const rows: string[][] = [['expression', 'compiled ns', 'hand-written ns', 'ratio']];
for (const [name, compiled, hand, inputs] of cases) {
  const [c, h] = compare(compiled as Fn, hand as Fn, inputs);
  rows.push([name, c.toFixed(1), h.toFixed(1), (c / h).toFixed(2)]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(`\nnode ${process.version}, ${ROUNDS} alternating rounds of ~${ROUND_MS} ms after ${WARMUP_MS} ms warm-up, median per round`);
