/**
 * Structural validation of a routing table received over the wire or read from disk.
 *
 * A proxy must never apply a table it cannot serve, so this checks shapes, ranges and every
 * cross reference (listener -> route -> cluster). Expression sources are checked later, when
 * the proxy compiles them while building its routes; a failure there refuses the table too.
 */
import { isIP } from 'node:net';
import { TABLE_FORMAT } from './types.ts';
import type { RoutingTable } from './types.ts';

export interface TableProblem {
  /** JSON path of the offending value, e.g. `$.routes[2].backends[0].cluster`. */
  path: string;
  message: string;
}

export type TableValidation =
  | { ok: true; table: RoutingTable }
  | { ok: false; problems: TableProblem[] };

const MAX_PROBLEMS = 50;

export type Obj = Record<string, unknown>;

export class Checker {
  readonly problems: TableProblem[] = [];

  fail(path: string, message: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ path, message });
  }

  object(v: unknown, path: string): Obj | undefined {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
    this.fail(path, `must be an object, got ${describe(v)}`);
    return undefined;
  }

  array(v: unknown, path: string): unknown[] {
    if (Array.isArray(v)) return v;
    this.fail(path, `must be an array, got ${describe(v)}`);
    return [];
  }

  string(v: unknown, path: string, opts: { nonEmpty?: boolean } = {}): v is string {
    if (typeof v !== 'string') {
      this.fail(path, `must be a string, got ${describe(v)}`);
      return false;
    }
    if (opts.nonEmpty && v.length === 0) {
      this.fail(path, 'must not be empty');
      return false;
    }
    return true;
  }

  integer(v: unknown, path: string, min: number, max: number): v is number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be an integer in ${min}..${max}, got ${describe(v)}`);
      return false;
    }
    return true;
  }

  number(v: unknown, path: string, min: number, max: number): v is number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(path, `must be a number in ${min}..${max}, got ${describe(v)}`);
      return false;
    }
    return true;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): v is T {
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return true;
    this.fail(path, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
    return false;
  }

  optional(o: Obj, key: string): boolean {
    return o[key] !== undefined;
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const MAX_MS = 24 * 3600 * 1000;
export const PORT_ID = /^[^/\s]+\/[^/:\s]+:\d{1,5}$/;
const TRAFFIC_TYPES = ['http', 'tcp', 'udp'] as const;
const SCHEMES = ['http', 'https', 'h2c'] as const;
const LOAD_BALANCERS = ['least-request', 'round-robin', 'random', 'cookie', 'header'] as const;

/** The protocol of a cluster or route by id, or undefined when there is none. */
export type ProtocolOf = (id: string) => string | undefined;

/** A cluster's own settings (everything but `id` and `endpoints`). */
export function checkClusterSettings(c: Checker, cl: Obj, p: string): void {
  c.string(cl.namespace, `${p}.namespace`, { nonEmpty: true });
  c.string(cl.service, `${p}.service`, { nonEmpty: true });
  c.integer(cl.port, `${p}.port`, 1, 65535);
  c.oneOf(cl.protocol, `${p}.protocol`, TRAFFIC_TYPES);
  c.oneOf(cl.scheme, `${p}.scheme`, SCHEMES);
  c.integer(cl.dialTimeoutMs, `${p}.dialTimeoutMs`, 1, MAX_MS);
  if (c.optional(cl, 'readTimeoutMs')) c.integer(cl.readTimeoutMs, `${p}.readTimeoutMs`, 1, MAX_MS);
  if (c.optional(cl, 'writeTimeoutMs')) c.integer(cl.writeTimeoutMs, `${p}.writeTimeoutMs`, 1, MAX_MS);
  const lb = c.object(cl.loadBalancer, `${p}.loadBalancer`);
  if (lb && c.oneOf(lb.kind, `${p}.loadBalancer.kind`, LOAD_BALANCERS)) {
    if (lb.kind === 'cookie') c.string(lb.cookie, `${p}.loadBalancer.cookie`, { nonEmpty: true });
    if (lb.kind === 'header') c.string(lb.header, `${p}.loadBalancer.header`, { nonEmpty: true });
  }
  const ph = c.object(cl.passiveHealth, `${p}.passiveHealth`);
  if (ph) {
    c.integer(ph.maxFails, `${p}.passiveHealth.maxFails`, 0, 1_000_000);
    c.integer(ph.failDurationMs, `${p}.passiveHealth.failDurationMs`, 0, MAX_MS);
  }
}

/** The ready endpoints of one cluster. */
export function checkEndpoints(c: Checker, v: unknown, p: string): void {
  c.array(v, p).forEach((e, j) => {
    const ep = c.object(e, `${p}[${j}]`);
    if (!ep) return;
    if (c.string(ep.address, `${p}[${j}].address`) && isIP(ep.address) === 0) {
      c.fail(`${p}[${j}].address`, `must be an IPv4 or IPv6 address, got ${describe(ep.address)}`);
    }
    c.integer(ep.port, `${p}[${j}].port`, 1, 65535);
    if (c.optional(ep, 'nodeName')) c.string(ep.nodeName, `${p}[${j}].nodeName`);
    if (c.optional(ep, 'target')) c.string(ep.target, `${p}[${j}].target`);
  });
}

function checkBackends(c: Checker, v: unknown, p: string, protocol: unknown, allowEmpty: boolean, clusterProtocol: ProtocolOf): void {
  const list = c.array(v, p);
  if (list.length === 0 && !allowEmpty) c.fail(p, 'must name at least one cluster');
  list.forEach((b, k) => {
    const wc = c.object(b, `${p}[${k}]`);
    if (!wc) return;
    if (c.string(wc.cluster, `${p}[${k}].cluster`)) {
      const proto = clusterProtocol(wc.cluster);
      if (proto === undefined) c.fail(`${p}[${k}].cluster`, `names unknown cluster ${wc.cluster}`);
      else if (typeof protocol === 'string' && proto !== protocol) {
        c.fail(`${p}[${k}].cluster`, `cluster ${wc.cluster} is ${proto}, the route is ${protocol}`);
      }
    }
    c.integer(wc.weight, `${p}[${k}].weight`, 0, 1_000_000);
  });
}

/** A route's fields after its id; `clusterProtocol` resolves the clusters it names. */
export function checkRouteBody(c: Checker, r: Obj, p: string, clusterProtocol: ProtocolOf): void {
  c.string(r.namespace, `${p}.namespace`, { nonEmpty: true });
  c.string(r.service, `${p}.service`, { nonEmpty: true });
  c.integer(r.port, `${p}.port`, 1, 65535);
  const protoOk = c.oneOf(r.protocol, `${p}.protocol`, TRAFFIC_TYPES);
  const rules = c.array(r.rules, `${p}.rules`);
  if (protoOk && r.protocol !== 'http' && rules.length > 0) c.fail(`${p}.rules`, `only http routes have rules, this route is ${String(r.protocol)}`);
  rules.forEach((rv, k) => {
    const rule = c.object(rv, `${p}.rules[${k}]`);
    if (!rule) return;
    c.string(rule.match, `${p}.rules[${k}].match`, { nonEmpty: true });
    checkBackends(c, rule.backends, `${p}.rules[${k}].backends`, r.protocol, false, clusterProtocol);
  });
  checkBackends(c, r.backends, `${p}.backends`, r.protocol, false, clusterProtocol);
  if (c.optional(r, 'requestTimeoutMs')) c.integer(r.requestTimeoutMs, `${p}.requestTimeoutMs`, 1, MAX_MS);
  if (c.optional(r, 'retry')) {
    const rt = c.object(r.retry, `${p}.retry`);
    if (rt) {
      if (c.optional(rt, 'count')) c.integer(rt.count, `${p}.retry.count`, 0, 100);
      if (c.optional(rt, 'durationMs')) c.integer(rt.durationMs, `${p}.retry.durationMs`, 1, MAX_MS);
      if (rt.count === undefined && rt.durationMs === undefined) c.fail(`${p}.retry`, 'needs count or durationMs');
      c.string(rt.on, `${p}.retry.on`, { nonEmpty: true });
      c.array(rt.codes, `${p}.retry.codes`).forEach((range, k) => {
        const ok = Array.isArray(range) && range.length === 2 &&
          range.every((n) => Number.isInteger(n) && n >= 100 && n <= 599) && range[0] <= range[1];
        if (!ok) c.fail(`${p}.retry.codes[${k}]`, `must be [from, to] with 100 <= from <= to <= 599, got ${JSON.stringify(range)}`);
      });
    }
  }
  if (c.optional(r, 'rateLimit')) {
    const rl = c.object(r.rateLimit, `${p}.rateLimit`);
    if (rl) {
      c.number(rl.ratePerSecond, `${p}.rateLimit.ratePerSecond`, Number.MIN_VALUE, 1e9);
      c.integer(rl.burst, `${p}.rateLimit.burst`, 1, 1e9);
      c.string(rl.key, `${p}.rateLimit.key`, { nonEmpty: true });
      c.integer(rl.zoneSize, `${p}.rateLimit.zoneSize`, 1, 10_000_000);
    }
  }
  if (c.optional(r, 'stickyCookie')) c.string(r.stickyCookie, `${p}.stickyCookie`, { nonEmpty: true });
  if (c.optional(r, 'mirror')) {
    const m = c.object(r.mirror, `${p}.mirror`);
    if (m) {
      checkBackends(c, [{ cluster: m.cluster, weight: 1 }], `${p}.mirror`, r.protocol, false, clusterProtocol);
      c.number(m.percent, `${p}.mirror.percent`, 0, 100);
    }
  }
  if (c.optional(r, 'circuitBreaker')) {
    const cb = c.object(r.circuitBreaker, `${p}.circuitBreaker`);
    if (cb) c.string(cb.expression, `${p}.circuitBreaker.expression`, { nonEmpty: true });
  }
  if (c.optional(r, 'maintenance')) {
    const mt = c.object(r.maintenance, `${p}.maintenance`);
    if (mt) c.string(mt.reason, `${p}.maintenance.reason`);
  }
}

/** A listener's protocol and route; `routeProtocol` resolves the route it names. */
export function checkListenerBody(c: Checker, l: Obj, p: string, routeProtocol: ProtocolOf): void {
  c.oneOf(l.protocol, `${p}.protocol`, TRAFFIC_TYPES);
  if (c.string(l.route, `${p}.route`)) {
    const proto = routeProtocol(l.route);
    if (proto === undefined) c.fail(`${p}.route`, `names unknown route ${l.route}`);
    else if (proto !== l.protocol) c.fail(`${p}.protocol`, `listener is ${String(l.protocol)} but route ${l.route} is ${proto}`);
  }
}

/** Checks an untrusted value; on success the same object is returned typed. */
export function validateTable(input: unknown): TableValidation {
  const c = new Checker();
  const t = c.object(input, '$');
  if (!t) return { ok: false, problems: c.problems };

  if (t.format !== TABLE_FORMAT) c.fail('$.format', `must be ${TABLE_FORMAT}, got ${describe(t.format)}`);
  c.string(t.epoch, '$.epoch', { nonEmpty: true });
  c.integer(t.version, '$.version', 0, Number.MAX_SAFE_INTEGER);
  c.string(t.generatedAt, '$.generatedAt');

  checkDns(c, t.dns);

  const clusterIds = new Map<string, string>();
  c.array(t.clusters, '$.clusters').forEach((v, i) => {
    const p = `$.clusters[${i}]`;
    const cl = c.object(v, p);
    if (!cl) return;
    if (c.string(cl.id, `${p}.id`) && PORT_ID.test(cl.id)) {
      if (clusterIds.has(cl.id)) c.fail(`${p}.id`, `duplicate cluster id ${cl.id}`);
      clusterIds.set(cl.id, typeof cl.protocol === 'string' ? cl.protocol : '');
    } else if (typeof cl.id === 'string') c.fail(`${p}.id`, `must look like namespace/name:port, got ${describe(cl.id)}`);
    checkClusterSettings(c, cl, p);
    checkEndpoints(c, cl.endpoints, `${p}.endpoints`);
  });

  const routeIds = new Map<string, string>();
  c.array(t.routes, '$.routes').forEach((v, i) => {
    const p = `$.routes[${i}]`;
    const r = c.object(v, p);
    if (!r) return;
    if (c.string(r.id, `${p}.id`) && PORT_ID.test(r.id)) {
      if (routeIds.has(r.id)) c.fail(`${p}.id`, `duplicate route id ${r.id}`);
      routeIds.set(r.id, typeof r.protocol === 'string' ? r.protocol : '');
    } else if (typeof r.id === 'string') c.fail(`${p}.id`, `must look like namespace/name:port, got ${describe(r.id)}`);
    checkRouteBody(c, r, p, (id) => clusterIds.get(id));
  });

  const ports = new Set<number>();
  c.array(t.listeners, '$.listeners').forEach((v, i) => {
    const p = `$.listeners[${i}]`;
    const l = c.object(v, p);
    if (!l) return;
    if (c.integer(l.port, `${p}.port`, 1, 65535)) {
      if (ports.has(l.port)) c.fail(`${p}.port`, `port ${l.port} is used by two listeners`);
      ports.add(l.port);
    }
    checkListenerBody(c, l, p, (id) => routeIds.get(id));
  });

  return c.problems.length === 0 ? { ok: true, table: input as RoutingTable } : { ok: false, problems: c.problems };
}

function checkDns(c: Checker, v: unknown): void {
  const dns = c.object(v, '$.dns');
  if (!dns) return;
  checkDnsSettings(c, dns, '$.dns');
  c.array(dns.services, '$.dns.services').forEach((sv, i) => {
    const p = `$.dns.services[${i}]`;
    const s = c.object(sv, p);
    if (s) checkDnsService(c, s, p);
  });
}

/** The zones answered and the TTL. */
export function checkDnsSettings(c: Checker, dns: Obj, p: string): void {
  c.array(dns.zones, `${p}.zones`).forEach((z, i) => {
    if (c.string(z, `${p}.zones[${i}]`, { nonEmpty: true }) && !/^[a-z0-9]([a-z0-9-.]*[a-z0-9])?$/.test(z)) {
      c.fail(`${p}.zones[${i}]`, `must be a lower-case DNS name without trailing dot, got ${describe(z)}`);
    }
  });
  c.integer(dns.ttl, `${p}.ttl`, 0, 86400);
}

/** One name the mesh DNS answers. */
export function checkDnsService(c: Checker, s: Obj, p: string): void {
  c.string(s.namespace, `${p}.namespace`, { nonEmpty: true });
  c.string(s.name, `${p}.name`, { nonEmpty: true });
  c.array(s.addresses, `${p}.addresses`).forEach((a, j) => {
    if (c.string(a, `${p}.addresses[${j}]`) && isIP(a) === 0) c.fail(`${p}.addresses[${j}]`, `must be an IP address, got ${describe(a)}`);
  });
  c.array(s.ports, `${p}.ports`).forEach((pv, j) => {
    const port = c.object(pv, `${p}.ports[${j}]`);
    if (!port) return;
    c.string(port.name, `${p}.ports[${j}].name`);
    c.oneOf(port.protocol, `${p}.ports[${j}].protocol`, ['tcp', 'udp'] as const);
    c.integer(port.port, `${p}.ports[${j}].port`, 1, 65535);
  });
}

/** One line per problem, for logs, status and acks. */
export function formatProblems(problems: TableProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}
