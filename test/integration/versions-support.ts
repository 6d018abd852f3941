/**
 * Shared by the standalone end-to-end tests of backend choice (traffic-split, sticky-cookie,
 * access-log): backends that answer with their version and the trace headers they received, and
 * helpers to call them and read cookies.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'undici';
import { get, httpBackend } from '../proxy/helpers.ts';
import type { Reply } from '../proxy/helpers.ts';

/** A backend answering with its version and the trace headers it received, as JSON. */
export async function versionBackend(t: TestContext, version: string): Promise<number> {
  const b = await httpBackend(t, (req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version, traceparent: req.headers.traceparent ?? null, tracestate: req.headers.tracestate ?? null }));
  });
  return b.port;
}

export interface Seen {
  version: string;
  traceparent: string | null;
  tracestate: string | null;
}

export async function call(agent: Agent, url: string, headers: Record<string, string> = {}): Promise<Reply & { seen: Seen }> {
  const r = await get(agent, url, { method: 'GET', headers });
  assert.equal(r.status, 200, r.body);
  return { ...r, seen: JSON.parse(r.body) as Seen };
}

/** Sends `n` requests, `parallel` at a time, and counts the versions that answered. */
export async function countVersions(agent: Agent, url: string, n: number, headers: Record<string, string> = {}, parallel = 20): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let sent = 0; sent < n; sent += parallel) {
    const batch = Array.from({ length: Math.min(parallel, n - sent) }, () => call(agent, url, headers));
    for (const r of await Promise.all(batch)) counts.set(r.seen.version, (counts.get(r.seen.version) ?? 0) + 1);
  }
  return counts;
}

/** The `name=value` part of a response's Set-Cookie for `name`, if it sets one. */
export function setCookie(r: Reply, name: string): string | undefined {
  const raw = r.headers['set-cookie'];
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return all.find((c) => c.startsWith(`${name}=`));
}

export function cookiePair(setCookieValue: string): string {
  return setCookieValue.slice(0, setCookieValue.indexOf(';'));
}

export const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
export const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';
