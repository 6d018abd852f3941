import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { applyTableDelta, formatProblems, tableDigest, validateTable } from '../../src/table/index.ts';
import type { ControllerStatus, RoutingTable } from '../../src/table/index.ts';
import { ConfigClient } from '../../src/proxy/config/client.ts';
import type { ApplyOutcome, ConfigClientOptions } from '../../src/proxy/config/client.ts';
import { STATE_FILE, loadState, saveState } from '../../src/proxy/config/state.ts';
import { TOKEN, captureLogger, content, quietLogger, startController } from '../controller/push-fixtures.ts';
import { until } from '../support/until.ts';
import type { Controller } from '../controller/push-fixtures.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hostmesh-config-'));
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

/** An engine stand-in that records what it was asked to apply and can refuse or hold tables. */
class Engine {
  readonly applied: RoutingTable[] = [];
  refuse: ((t: RoutingTable) => string | undefined) | undefined;
  gate: Promise<void> | undefined;

  /** Like ProxyEngine.apply: validates first; an unchanged digest is a no-op. */
  readonly apply = async (raw: unknown): Promise<ApplyOutcome> => {
    const v = validateTable(raw);
    if (!v.ok) return { ok: false, error: `invalid table: ${formatProblems(v.problems)}` };
    const table = v.table;
    const digest = tableDigest(table);
    if (this.gate) await this.gate;
    if (digest === this.digest) return { ok: true, digest, table };
    return this.#take(table, digest);
  };

  /** Like ProxyEngine.applyDelta: on top of the table served, or a gap. */
  readonly applyDelta = async (raw: unknown): Promise<ApplyOutcome> => {
    const current = this.applied.at(-1);
    if (current === undefined || this.digest === undefined) return { ok: false, error: 'no table yet', gap: true };
    const d = applyTableDelta(current, this.digest, raw);
    if (!d.ok) return { ok: false, error: `delta refused: ${formatProblems(d.problems)}`, gap: d.gap };
    if (this.gate) await this.gate;
    return this.#take(d.table, d.digest);
  };

  #take(table: RoutingTable, digest: string): ApplyOutcome {
    const error = this.refuse?.(table);
    if (error !== undefined) return { ok: false, error };
    this.applied.push(table);
    this.digest = digest;
    return { ok: true, digest, table };
  }
  digest: string | undefined;

  get versions(): string[] {
    return this.applied.map((t) => `${t.epoch}:${t.version}`);
  }
}

function startClient(t: TestContext, options: Partial<ConfigClientOptions> & { controllerUrl: string; stateDir: string }, engine = new Engine()): { client: ConfigClient; engine: Engine } {
  const client = new ConfigClient({
    node: 'node-a',
    token: TOKEN,
    apply: engine.apply,
    applyDelta: engine.applyDelta,
    log: quietLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  t.after(() => client.stop());
  return { client, engine };
}


function proxyStatus(c: Controller, node = 'node-a'): ControllerStatus['proxies'][number] | undefined {
  return c.server.status().proxies.find((p) => p.node === node);
}

function publish(c: Controller, services: number, variant = 0): RoutingTable {
  c.publisher.publish(content(services, variant));
  return c.publisher.flush()!.table;
}

test('the client applies each version, acks it, and saves it', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const dir = await tempDir(t);
  publish(c, 3);
  const { client, engine } = startClient(t, { controllerUrl: c.url, stateDir: dir });
  await client.start();
  await until('the first ack', () => proxyStatus(c)?.appliedVersion === 1);
  assert.deepEqual(engine.versions, ['e1:1']);
  const p = proxyStatus(c)!;
  assert.equal(p.connected, true);
  assert.equal(p.lagVersions, 0);
  assert.equal(p.error, undefined);

  const v2 = publish(c, 3, 1);
  await until('the second ack', () => proxyStatus(c)?.appliedVersion === 2);
  assert.deepEqual(engine.versions, ['e1:1', 'e1:2']);
  const s = client.status();
  assert.equal(s.connected, true);
  assert.deepEqual([s.applied?.epoch, s.applied?.version, s.applied?.digest, s.applied?.source], ['e1', 2, tableDigest(v2), 'controller']);
  await client.stop();
  const saved = await loadState(dir);
  assert.equal(saved.kind, 'table');
  assert.equal(saved.kind === 'table' && tableDigest(saved.table), tableDigest(v2));
  assert.deepEqual((await readdir(dir)).filter((n) => n !== STATE_FILE), [], 'no temporary files are left behind');
  await until('the controller to see the proxy leave', () => proxyStatus(c)?.connected === false);
});

test('a refused snapshot is reported to the controller and the old table keeps serving', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const dir = await tempDir(t);
  publish(c, 2);
  const engine = new Engine();
  const { client } = startClient(t, { controllerUrl: c.url, stateDir: dir }, engine);
  await client.start();
  await until('v1 applied', () => proxyStatus(c)?.appliedVersion === 1);
  await until('v1 saved (saving follows the ack)', async () => (await loadState(dir)).kind === 'table');

  engine.refuse = (tbl) => (tbl.version === 2 ? 'listener 10001: address already in use' : undefined);
  publish(c, 2, 1);
  await until('the refusal to reach the controller', () => proxyStatus(c)?.error !== undefined);
  const p = proxyStatus(c)!;
  assert.equal(p.error, 'refused e1:2: listener 10001: address already in use');
  assert.equal(p.appliedVersion, 1);
  assert.equal(p.lagVersions, 1);
  assert.equal(client.status().applied?.version, 1, 'the proxy still serves version 1');
  assert.match(client.status().lastError?.message ?? '', /refused routing table e1:2, still serving e1:1: listener 10001/);
  const saved = await loadState(dir);
  assert.equal(saved.kind === 'table' && saved.table.version, 1, 'the saved table is still the last good one');
  assert.deepEqual(engine.versions, ['e1:1']);

  // A table that fails validation is refused before the engine sees it.
  c.publisher.publish({ ...content(2, 2), listeners: [{ port: 10_000, protocol: 'http', route: 'bench/missing:80' }] });
  c.publisher.flush();
  await until('the invalid table to be refused', () => /refused e1:3/.test(proxyStatus(c)?.error ?? ''));
  assert.match(proxyStatus(c)!.error!, /invalid table: \$\.listeners\[0\]\.route: names unknown route bench\/missing:80/);
  assert.deepEqual(engine.versions, ['e1:1']);

  publish(c, 2, 3);
  await until('a good table after the refusals', () => proxyStatus(c)?.appliedVersion === 4);
  assert.equal(proxyStatus(c)?.error, undefined);
  assert.equal(proxyStatus(c)?.lagVersions, 0);
  const m = await c.server.registry.getSingleMetricAsString('hostmesh_controller_refusals_total');
  assert.match(m, /hostmesh_controller_refusals_total 2/);
});

test('after a controller restart (new epoch) the client reconnects and re-acks, re-applying only changed content', async (t) => {
  const c1 = await startController(t, { epoch: 'first' });
  const dir = await tempDir(t);
  publish(c1, 3);
  const { client, engine } = startClient(t, { controllerUrl: c1.url, stateDir: dir });
  await client.start();
  await until('applied from the first controller', () => proxyStatus(c1)?.appliedVersion === 1);
  const port = c1.port;
  await c1.close();

  // Same address, new process: a new epoch and versions starting over, same content.
  const c2 = await startController(t, { epoch: 'second', port });
  publish(c2, 3);
  await until('the re-ack to the new controller', () => proxyStatus(c2)?.appliedEpoch === 'second');
  assert.deepEqual(engine.versions, ['first:1'], 'identical content is adopted without re-applying');
  assert.deepEqual([client.status().applied?.epoch, client.status().applied?.version], ['second', 1]);
  assert.equal(proxyStatus(c2)?.lagVersions, 0);
  // Saving follows the ack (acks are not delayed by the disk), so wait for the file.
  await until('the adopted version to be saved, so a restart asks for the right since', async () => {
    const saved = await loadState(dir);
    return saved.kind === 'table' && saved.table.epoch === 'second';
  });

  publish(c2, 3, 1);
  await until('a real change after the restart', () => proxyStatus(c2)?.appliedVersion === 2);
  assert.deepEqual(engine.versions, ['first:1', 'second:2']);
});

test('fail static: with the controller down from the start the saved table is applied', async (t) => {
  const dir = await tempDir(t);
  const saved = { ...content(4), format: 1 as const, epoch: 'e9', version: 17, generatedAt: new Date().toISOString() };
  await saveState(dir, saved);
  // A port with nothing listening: take one and close it.
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  // A saved table counts towards the idle collection like a received one.
  const { client, engine } = startClient(t, { controllerUrl: `http://127.0.0.1:${deadPort}`, stateDir: dir, idleCollectBytes: 100, idleCollectMs: 20 });
  await client.start();
  assert.deepEqual(engine.versions, ['e9:17'], 'applied before start() resolves, before any controller contact');
  assert.equal(tableDigest(engine.applied[0]!), tableDigest(saved));
  const s = client.status();
  assert.deepEqual([s.applied?.source, s.applied?.version, s.connected], ['saved', 17, false]);
  await until('the connection failure to be recorded', () => /ECONNREFUSED|connect/i.test(client.status().lastError?.message ?? ''));
  assert.equal(client.status().applied?.version, 17, 'still serving the saved table');
  await until('the idle collection after the saved table', () => client.collections === 1);
});

test('a proxy restarted from its saved table re-acks when the controller says it is current', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const dir = await tempDir(t);
  const v1 = publish(c, 2);
  await saveState(dir, v1);
  const { client, engine } = startClient(t, { controllerUrl: c.url, stateDir: dir, node: 'node-r' });
  await client.start();
  await until('the re-ack', () => proxyStatus(c, 'node-r')?.appliedVersion === 1);
  assert.deepEqual(engine.versions, ['e1:1'], 'applied once, from disk; the controller sent no snapshot');
  assert.equal(c.server.streams[0]?.sent, 0);
});

test('a corrupt or invalid state file is logged and ignored', async (t) => {
  for (const [name, text, why] of [
    ['garbage', '{"format":1, "epoch": tru', /not JSON/],
    ['invalid', JSON.stringify({ ...content(1), format: 1, epoch: 'e', version: 1, generatedAt: '', listeners: [{ port: 0, protocol: 'http', route: 'x' }] }), /not a valid table: \$\.listeners\[0\]\.port/],
  ] as const) {
    const dir = await tempDir(t);
    await writeFile(join(dir, STATE_FILE), text);
    await writeFile(join(dir, `.${STATE_FILE}.123.abcd.tmp`), 'left by a crash');
    const { log, lines } = captureLogger();
    const { client, engine } = startClient(t, { controllerUrl: 'http://127.0.0.1:1', stateDir: dir, log });
    await client.start();
    assert.deepEqual(engine.versions, [], name);
    assert.match(client.status().lastError?.message ?? '', why, name);
    assert.ok(lines.some((l) => l.level === 40 && /ignored the saved routing table/.test(l.msg)), `${name}: a warning is logged`);
    assert.deepEqual((await readdir(dir)).toSorted(), [STATE_FILE], `${name}: stale temporary files are removed`);
    await client.stop();
  }
});

test('backoff does not hammer a dead controller', async (t) => {
  let connections = 0;
  const dead = createTcpServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => dead.close(resolve)));
  const dir = await tempDir(t);
  const { client } = startClient(t, { controllerUrl: `http://127.0.0.1:${(dead.address() as AddressInfo).port}`, stateDir: dir, backoff: undefined });
  await client.start();
  await delay(1500);
  await client.stop();
  // Default backoff: 100 ms doubling, never under half the nominal delay, so at most about
  // five attempts fit in 1.5 s (at 0, >=50, >=150, >=350, >=750 ms).
  assert.ok(connections >= 2, `reconnects happen (${connections})`);
  assert.ok(connections <= 6, `but not in a tight loop (${connections} connections in 1.5 s)`);
});

test('a wrong token is logged clearly and nothing is applied', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  publish(c, 1);
  const { log, lines } = captureLogger();
  const dir = await tempDir(t);
  const { client, engine } = startClient(t, { controllerUrl: c.url, stateDir: dir, token: 'not-the-token', log });
  await client.start();
  await until('the 401 to be logged', () => lines.some((l) => /401/.test(l.msg)));
  const line = lines.find((l) => /401/.test(l.msg))!;
  assert.equal(line.level, 50, 'logged as an error');
  assert.match(line.msg, /the controller refused the token \(401: the bearer token is not valid\); check that the token file holds the controller's token/);
  assert.deepEqual(engine.versions, []);
  assert.equal(client.status().connected, false);
});

test('deltas that arrive during an apply are applied in order after it; the saved table is the full newest one', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const dir = await tempDir(t);
  publish(c, 2);
  const engine = new Engine();
  let release: () => void = () => undefined;
  engine.gate = new Promise<void>((resolve) => { release = resolve; });
  const { client } = startClient(t, { controllerUrl: c.url, stateDir: dir }, engine);
  await client.start();
  await until('v1 to arrive', () => client.status().controller?.version === 1);
  for (let v = 1; v <= 3; v++) publish(c, 2, v);
  await until('v4 to arrive while v1 is being applied', () => client.status().controller?.version === 4);
  release();
  await until('the newest version applied', () => proxyStatus(c)?.appliedVersion === 4);
  assert.deepEqual(engine.versions, ['e1:1', 'e1:2', 'e1:3', 'e1:4']);
  assert.deepEqual(client.status().counts, { snapshots: 1, deltas: 3, gaps: 0 });
  await client.stop();
  const saved = await loadState(dir);
  assert.equal(saved.kind === 'table' && `${saved.table.version} ${tableDigest(saved.table)}`, `4 ${c.publisher.current!.digest}`);
});

test('a proxy restarted from its state saved after deltas serves what a fresh snapshot serves, and resumes with deltas', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const dir = await tempDir(t);
  publish(c, 4);
  const first = startClient(t, { controllerUrl: c.url, stateDir: dir });
  await first.client.start();
  await until('v1 applied', () => proxyStatus(c)?.appliedVersion === 1);
  for (let v = 1; v <= 3; v++) publish(c, 4, v);
  await until('v4 applied through deltas', () => proxyStatus(c)?.appliedVersion === 4);
  assert.deepEqual(first.client.status().counts, { snapshots: 1, deltas: 3, gaps: 0 });
  await first.client.stop();

  // The restarted proxy's engine gets the saved table; it equals the controller's snapshot.
  const second = startClient(t, { controllerUrl: c.url, stateDir: dir, node: 'node-a' });
  await second.client.start();
  const fresh = c.publisher.current!.table;
  assert.deepEqual(second.engine.versions, ['e1:4']);
  assert.equal(second.engine.digest, tableDigest(fresh));
  assert.deepEqual(second.engine.applied[0], JSON.parse(JSON.stringify(fresh)), 'the saved table is the full table, field for field');
  publish(c, 4, 4);
  await until('v5 applied as a delta on top of the saved table', () => second.client.status().applied?.version === 5);
  assert.deepEqual(second.client.status().counts, { snapshots: 0, deltas: 1, gaps: 0 });
});

test('a gap in versions makes the client ask for a snapshot', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  const v1 = publish(c, 2);
  const v2 = publish(c, 2, 1);
  const v3 = publish(c, 2, 2);
  const delta3 = c.publisher.current!.delta!;
  // A scripted controller: the first watch gets v1 and then the delta 2->3 (version 2 is missing).
  const queries: string[] = [];
  const scripted = createHttpServer((req, res) => {
    if (req.method === 'POST') {
      req.resume();
      res.writeHead(204).end();
      return;
    }
    queries.push(new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? '(none)');
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (queries.length === 1) {
      res.write(`${JSON.stringify({ type: 'snapshot', table: v1 })}\n${JSON.stringify({ type: 'delta', delta: delta3 })}\n`);
    } else {
      res.write(`${JSON.stringify({ type: 'snapshot', table: v3 })}\n`);
    }
  });
  await new Promise<void>((resolve) => scripted.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    scripted.close(resolve);
    scripted.closeAllConnections();
  }));
  const dir = await tempDir(t);
  const { client, engine } = startClient(t, { controllerUrl: `http://127.0.0.1:${(scripted.address() as AddressInfo).port}`, stateDir: dir });
  await client.start();
  await until('the snapshot after the gap', () => client.status().applied?.version === 3);
  assert.deepEqual(queries, ['(none)', '(none)'], 'the second watch asks for a snapshot: no since');
  assert.deepEqual(engine.versions, ['e1:1', 'e1:3']);
  assert.equal(tableDigest(engine.applied[1]!), tableDigest(v3));
  assert.notEqual(tableDigest(v2), tableDigest(v3));
  assert.deepEqual(client.status().counts, { snapshots: 2, deltas: 0, gaps: 1 });
});

test('a silent controller is detected and the client reconnects', async (t) => {
  let watches = 0;
  const silent = createHttpServer((req, res) => {
    watches++;
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${JSON.stringify({ type: 'heartbeat', epoch: 'e', version: 0, time: new Date().toISOString() })}\n`);
    // ...and then nothing, as a controller behind a dead network path would.
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    silent.close(resolve);
    silent.closeAllConnections();
  }));
  const dir = await tempDir(t);
  const { client } = startClient(t, { controllerUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, stateDir: dir, idleTimeoutMs: 100 });
  await client.start();
  await until('reconnects after idle periods', () => watches >= 3);
  assert.match(client.status().lastError?.message ?? '', /nothing from the controller for 100 ms/);
});

test('a 10,000-service table travels whole; a line over the limit is refused and retried', async (t) => {
  const c = await startController(t, { epoch: 'big' });
  const table = publish(c, 10_000);
  const size = JSON.stringify(table).length;
  assert.ok(size > 4_000_000, `the table is several MB (${size} bytes)`);
  const bigDir = await tempDir(t);
  const { client, engine } = startClient(t, { controllerUrl: c.url, stateDir: bigDir });
  await client.start();
  await until('the big table applied', () => proxyStatus(c)?.appliedVersion === 1);
  // Saving follows the ack; let it finish before the directory is removed.
  await until('the big table saved', async () => (await loadState(bigDir)).kind === 'table');
  assert.equal(tableDigest(engine.applied[0]!), tableDigest(table));
  assert.equal(validateTable(engine.applied[0]).ok, true);

  const small = startClient(t, { controllerUrl: c.url, stateDir: await tempDir(t), node: 'node-small', maxLineBytes: 1_000_000 });
  await small.client.start();
  await until('the size limit error', () => /line of at least \d+ bytes; the limit is 1000000 bytes/.test(small.client.status().lastError?.message ?? ''));
  assert.deepEqual(small.engine.versions, []);
  assert.equal(proxyStatus(c, 'node-small')?.appliedVersion, undefined);
});

test('the state file is written atomically and read back exactly', async (t) => {
  const dir = join(await tempDir(t), 'nested', 'state');
  const v1 = { ...content(3), format: 1 as const, epoch: 'e', version: 1, generatedAt: 'x' };
  await saveState(dir, v1);
  const text = await readFile(join(dir, STATE_FILE), 'utf8');
  assert.deepEqual(JSON.parse(text), v1);
  const loaded = await loadState(dir);
  assert.deepEqual(loaded.kind === 'table' && loaded.table, v1);
  assert.equal((await loadState(join(dir, 'none'))).kind, 'missing');
});

test('an idle collection runs once enough was received and nothing happened since; never below the threshold', async (t) => {
  const c = await startController(t, { epoch: 'e1' });
  publish(c, 20);
  const { client: big } = startClient(t, { controllerUrl: c.url, stateDir: await tempDir(t), idleCollectBytes: 1000, idleCollectMs: 30, saveIntervalMs: 0 });
  const { client: small } = startClient(t, { controllerUrl: c.url, stateDir: await tempDir(t), idleCollectBytes: 10_000_000, idleCollectMs: 30, saveIntervalMs: 0 });
  await Promise.all([big.start(), small.start()]);
  await until('the first collection', () => big.collections === 1);
  assert.equal(small.status().applied?.version, 1);
  // One per crossing of the threshold: nothing received since, nothing more collected.
  await delay(200);
  assert.equal(big.collections, 1);
  assert.equal(small.collections, 0);
});
