/**
 * The controller of `hostmesh standalone`: a directory of manifests as the source, the same
 * translation and publisher as in a cluster, and no API server to write to. The CLI wires it to
 * one in-process proxy (src/cli/standalone.ts).
 *
 * With a state directory, the port allocation and the port quarantine are kept there in one
 * file (`standalone-state.json`), written whenever they change and read back at start: a
 * restarted standalone keeps every Service on its port, and a port freed before the restart
 * (or by a Service deleted while it was stopped) is not given to another Service until its
 * quarantine ends, as the controller does with its Lease (kube/quarantine-store.ts).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { parsePortId } from '../table/index.ts';
import type { PortId } from '../table/index.ts';
import { Publisher } from './push/publisher.ts';
import { ManifestSource } from './source/manifests.ts';
import { quarantineObject, readQuarantine } from './translation/quarantine-text.ts';
import { Translator } from './translation/translator.ts';
import type { Diagnostic } from './translation/types.ts';

/** The file in standalone's state directory. */
export const STANDALONE_STATE_FILE = 'standalone-state.json';

interface SavedState {
  ports: Map<PortId, number>;
  freed: Map<number, number>;
}

/** What a previous run left in `dir`; empty when there is nothing (or nothing readable: logged). */
function loadState(dir: string, log: Logger): SavedState {
  const file = join(dir, STANDALONE_STATE_FILE);
  const state: SavedState = { ports: new Map(), freed: new Map() };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file, err: errorMessage(e) }, `standalone state: could not read ${file}; ports are allocated afresh and freed ports of a previous run are not known`);
    return state;
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as { ports?: unknown; quarantine?: unknown };
  const skipped: string[] = [];
  if (typeof o.ports === 'object' && o.ports !== null && !Array.isArray(o.ports)) {
    for (const [id, port] of Object.entries(o.ports)) {
      if (parsePortId(id) !== undefined && Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535) state.ports.set(id, port as number);
      else skipped.push(`ports.${id}: ${JSON.stringify(port)}`);
    }
  } else skipped.push(`ports: ${JSON.stringify(o.ports)}`);
  const q = readQuarantine(o.quarantine ?? {});
  state.freed = q.freed;
  skipped.push(...q.skipped.map((s) => `quarantine.${s}`));
  if (skipped.length > 0) log.warn({ file, skipped }, `standalone state: ${file} has entries that are not a port allocation or a port and a time; they are ignored`);
  return state;
}

export interface StandaloneControllerOptions {
  /** A directory of manifests, or one manifest file. */
  manifests: string;
  portRange: readonly [number, number];
  zones: readonly string[];
  /** ACL mode (SMI TrafficTargets -> access policies). */
  acl?: boolean;
  /** Ports never allocated (our own servers'); reserve() adds ports another process holds. */
  reservedPorts: Iterable<number>;
  /** Where the port allocation and quarantine are kept across restarts; memory only when absent. */
  stateDir?: string | undefined;
  log: Logger;
  /** The clock of port quarantine (tests pass their own). */
  now?: () => number;
}

export class StandaloneController {
  readonly publisher = new Publisher({ coalesceMs: 20, maxDelayMs: 100 });
  readonly source: ManifestSource;
  readonly #log: Logger;
  readonly #reserved: Set<number>;
  readonly #translator: Translator;
  #diagnostics: Diagnostic[] = [];
  /** Diagnostics are logged once each; a fixed problem that comes back is logged again. */
  #reported = new Set<string>();
  readonly #stateFile: string | undefined;
  /** The state file's text as last written (or read). */
  #stateText = '';

  constructor(options: StandaloneControllerOptions) {
    this.#log = options.log;
    this.#reserved = new Set(options.reservedPorts);
    const saved = options.stateDir === undefined ? undefined : loadState(options.stateDir, options.log);
    this.#translator = new Translator({ mode: 'standalone', portRange: options.portRange, zones: options.zones, reservedPorts: this.#reserved, acl: options.acl === true }, saved?.ports, options.now);
    if (saved !== undefined) this.#translator.restoreQuarantine(saved.freed);
    if (options.stateDir !== undefined) {
      mkdirSync(options.stateDir, { recursive: true });
      this.#stateFile = join(options.stateDir, STANDALONE_STATE_FILE);
    }
    this.source = new ManifestSource({ dir: options.manifests, logger: options.log });
    this.source.subscribe(() => this.build());
  }

  /** Reads the manifests once; rejects when they cannot be read. Tables follow build(). */
  start(): Promise<void> {
    return this.source.start();
  }

  /** Translates the current manifests, publishes the table and logs new problems. */
  build(): void {
    const result = this.#translator.translate(this.source.current());
    this.#diagnostics = [...this.source.diagnostics(), ...result.diagnostics];
    this.publisher.publish(result.content, this.#diagnostics);
    this.#report();
    this.#saveState();
  }

  /** Writes the allocation and quarantine when they changed (whole file, then renamed over). */
  #saveState(): void {
    const file = this.#stateFile;
    if (file === undefined) return;
    const ports = Object.fromEntries([...this.#translator.ports].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const text = `${JSON.stringify({ ports, quarantine: quarantineObject(this.#translator.quarantine()) }, null, 1)}\n`;
    if (text === this.#stateText) return;
    try {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
      this.#stateText = text;
    } catch (e) {
      this.#log.warn({ file, err: errorMessage(e) }, `standalone state: could not write ${file}; it is written again with the next change`);
    }
  }

  /** A port another process holds: never allocated again in this run; translates again. */
  reserve(port: number): void {
    this.#reserved.add(port);
    this.build();
  }

  diagnostics(): Diagnostic[] {
    return this.#diagnostics;
  }

  /** Re-reads the manifests and resolves once the resulting table is published. */
  async settled(): Promise<void> {
    await this.source.rescan();
    await this.publisher.flush();
  }

  async stop(): Promise<void> {
    await this.source.stop();
    this.publisher.close();
  }

  #report(): void {
    const next = new Set<string>();
    for (const d of this.#diagnostics) {
      if (d.severity === 'info') continue;
      next.add(d.message);
      if (!this.#reported.has(d.message)) this.#log.warn({ code: d.code, object: d.object, key: d.key }, d.message);
    }
    this.#reported = next;
  }
}
