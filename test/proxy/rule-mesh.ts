/** A small standalone mesh for route-rule tests: one engine, one Service port with rules, named backends. */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from 'undici';
import type { IdentityEntry, RouteEntry, RoutingTable } from '../../src/table/index.ts';
import { client, engine, freePort, httpBackend, LOOPBACK, svc, table } from './helpers.ts';
import type { Backend } from './helpers.ts';

/** A backend answering JSON: its name, and the method, target and headers it received. */
export function echoBackend(t: TestContext, name: string): Promise<Backend> {
  return httpBackend(t, (req, res) => {
    const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-backend', name);
    res.setHeader('x-remove-me', 'yes');
    res.end(body);
  });
}

export interface Mesh {
  url: string;
  http: Agent;
  apply(route: Partial<RouteEntry>, identities?: IdentityEntry[]): Promise<string[]>;
}

/** A standalone engine serving `test/web:80` (backend `web`) with clusters for the other named backends. */
export async function mesh(t: TestContext, backends: Record<string, Backend>): Promise<Mesh> {
  const e = engine(t);
  const port = await freePort();
  const http = client(t);
  let version = 0;
  return {
    url: `http://${LOOPBACK}:${port}`,
    http,
    async apply(route, identities) {
      const entries = Object.entries(backends).map(([name, b], i) => ({ cluster: svc(name, [b.port]), listenPort: i === 0 ? port : 0 }));
      const tbl: RoutingTable = table(entries, ++version);
      // One listener: test/web:80 (the first backend); the others are clusters only.
      tbl.listeners = tbl.listeners.slice(0, 1);
      tbl.routes = [{ ...tbl.routes[0]!, ...route }];
      if (identities !== undefined) tbl.identities = identities;
      const r = await e.apply(tbl);
      assert.ok(r.ok, JSON.stringify(r));
      return r.ok ? r.warnings : [];
    },
  };
}

