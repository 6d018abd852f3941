/**
 * Header rewriting between client and backend: hop-by-hop headers are stripped both ways
 * (RFC 9110 7.6.1), X-Forwarded-* added, everything else passed through in order.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isValidTraceparent, newTraceparent } from '../trace.ts';

/**
 * Per-connection headers, never forwarded. `te` is kept when it is exactly `trailers` (gRPC
 * needs it end to end). `expect` is answered by the proxy itself (100 Continue) so the backend
 * never waits for it; `http2-settings` belongs to an h2c upgrade of the client connection.
 */
const HOP_BY_HOP: Readonly<Record<string, true>> = {
  __proto__: null as never,
  'connection': true,
  'keep-alive': true,
  'proxy-connection': true,
  'te': true,
  'trailer': true,
  'transfer-encoding': true,
  'upgrade': true,
  'expect': true,
  'http2-settings': true,
};

/** Connection options that name no header (the common values, skipped fast). */
function connectionListsHeaders(value: string): boolean {
  const v = value.toLowerCase();
  return v !== 'keep-alive' && v !== 'close' && v !== 'upgrade';
}

/**
 * Headers a Connection header can never make hop-by-hop: listing `Host` would strip the name
 * the proxy routed and applied policies on, listing `Content-Length` the body's framing.
 */
const END_TO_END: ReadonlySet<string> = new Set(['host', 'content-length']);

/** Header names a Connection header value lists, lower-cased (never Host or Content-Length). */
function connectionTokens(values: string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) for (const t of v.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && !END_TO_END.has(name)) out.add(name);
  }
  return out;
}

/** What the request-header pass learned besides the headers themselves. */
export interface RequestFacts {
  /** Whether a body follows (Content-Length > 0 or Transfer-Encoding present). */
  hasBody: boolean;
  /** The `traceparent` the backend receives: the client's when valid, else a new one. */
  traceparent?: string | undefined;
  /** Set by the trace stage: the `traceparent` to send in any case (the client's `tracestate` stays when its trace does). */
  readonly ownTraceparent?: string | undefined;
}

/** Bit n set: some name `requestHeaders` looks at (hop-by-hop or one of its cases) has n characters. */
const LOOKED_AT = [...Object.keys(HOP_BY_HOP), 'x-forwarded-for', 'host', 'x-forwarded-proto', 'x-forwarded-host', 'content-length', 'traceparent', 'tracestate', 'cookie']
  .reduce((bits, name) => bits | (1 << name.length), 0);

/** Trace context headers, dropped when the client's traceparent is replaced. */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate']);
const TRACEPARENT = new Set(['traceparent']);

/** The client address as X-Forwarded-For shows it (IPv4-mapped IPv6 unwrapped). */
export function clientAddress(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

/**
 * Builds the backend request's headers from the client's raw headers (a flat name/value list,
 * HTTP/2 pseudo-headers included): hop-by-hop headers dropped, X-Forwarded-For appended to,
 * X-Forwarded-Proto and -Host set when the client did not set them (an ingress in front of the
 * mesh keeps its values), Host preserved (HTTP/2 `:authority` becomes Host). A valid
 * `traceparent` (and its `tracestate`) passes unchanged; an absent, invalid or repeated one is
 * replaced by a new trace and the `tracestate` dropped (it described the old trace).
 */
export function requestHeaders(raw: readonly string[], clientIp: string, facts: RequestFacts): string[] {
  const out: string[] = [];
  let xff: string | undefined;
  let host: string | undefined;
  let authority: string | undefined;
  let hasProto = false;
  let hasXfHost = false;
  let connValues: string[] | undefined;
  let hasBody = false;
  let traceparent: string | undefined;
  let traceparents = 0;
  let tracestate = false;
  /** Where the first Cookie value sits in `out` (-1: none yet). */
  let cookieAt = -1;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (name === ':authority') authority = value;
      continue;
    }
    // Names as long as none looked at below pass as they are, without their lower case.
    if (name.length < 32 && (LOOKED_AT & (1 << name.length)) === 0) {
      out.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP[lower] === true) {
      if (lower === 'te' && value.trim().toLowerCase() === 'trailers') out.push(name, value);
      else if (lower === 'connection' && connectionListsHeaders(value)) (connValues ??= []).push(value);
      else if (lower === 'transfer-encoding') hasBody = true;
      continue;
    }
    switch (lower) {
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'host':
        host = value;
        break;
      case 'x-forwarded-proto':
        hasProto = true;
        break;
      case 'x-forwarded-host':
        hasXfHost = true;
        break;
      case 'content-length':
        if (value !== '0') hasBody = true;
        break;
      case 'traceparent':
        traceparent = value;
        traceparents++;
        break;
      case 'tracestate':
        tracestate = true;
        break;
      case 'cookie':
        // HTTP/2 sends cookie crumbs as separate fields; HTTP/1.1 allows one Cookie header, so
        // they are joined with "; " (RFC 9113 8.2.3), which backends read as one list.
        if (cookieAt >= 0) {
          out[cookieAt] = `${out[cookieAt]!}; ${value}`;
          continue;
        }
        cookieAt = out.length + 1;
        break;
    }
    out.push(name, value);
  }
  // Headers the client's Connection header lists are its own hop-by-hop ones; ours come after.
  const hopByHop = connValues === undefined ? undefined : connectionTokens(connValues);
  let result = hopByHop === undefined ? out : withoutNames(out, hopByHop);
  const keepTrace = traceparents === 1 && hopByHop?.has('traceparent') !== true && isValidTraceparent(traceparent!);
  if (!keepTrace && (traceparents > 0 || tracestate)) result = withoutNames(result, TRACE_HEADERS);
  if (host === undefined && authority !== undefined) {
    host = authority;
    result.push('host', authority);
  }
  result.push('x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`);
  if (!hasProto) result.push('x-forwarded-proto', 'http');
  if (!hasXfHost && host !== undefined) result.push('x-forwarded-host', host);
  const own = facts.ownTraceparent;
  if (own !== undefined) {
    if (keepTrace) result = withoutNames(result, TRACEPARENT);
    facts.traceparent = own;
    result.push('traceparent', own);
  } else if (keepTrace) facts.traceparent = traceparent;
  else {
    facts.traceparent = newTraceparent();
    result.push('traceparent', facts.traceparent);
  }
  facts.hasBody = hasBody;
  return result;
}

function withoutNames(flat: string[], drop: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!drop.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  }
  return out;
}

/** A raw header value as a list (undici gives a string or, for repeated headers, an array). */
function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The client response's headers from the backend's (lower-cased names, as undici parses them)
 * as a flat list for an HTTP/1.1 response, hop-by-hop headers dropped. `extra` pairs are added.
 */
export function responseHeadersFlat(headers: IncomingHttpHeaders, extra: readonly string[] | undefined): string[] {
  const out: string[] = [];
  const conn = headers.connection;
  const drop = conn !== undefined && values(conn).some(connectionListsHeaders) ? connectionTokens(values(conn)) : undefined;
  for (const name in headers) {
    if (HOP_BY_HOP[name] === true || (drop !== undefined && drop.has(name))) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const one of v) out.push(name, one);
  }
  if (extra !== undefined) for (const x of extra) out.push(x);
  return out;
}

/** The same for an HTTP/2 response, which takes a header object. */
export function responseHeadersObject(headers: IncomingHttpHeaders, extra: readonly string[] | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = headers.connection;
  const drop = conn !== undefined && values(conn).some(connectionListsHeaders) ? connectionTokens(values(conn)) : undefined;
  for (const name in headers) {
    if (HOP_BY_HOP[name] === true || (drop !== undefined && drop.has(name))) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  if (extra !== undefined) {
    for (let i = 0; i < extra.length; i += 2) {
      const name = extra[i]!.toLowerCase();
      const prev = out[name];
      out[name] = prev === undefined ? extra[i + 1]! : [...values(prev), extra[i + 1]!];
    }
  }
  return out;
}

/** Value of a request header by lower-case name from raw headers, repeated values joined. */
export function rawHeader(raw: readonly string[], lowerName: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) {
      found = found === undefined ? raw[i + 1]! : `${found}, ${raw[i + 1]!}`;
    }
  }
  return found;
}
