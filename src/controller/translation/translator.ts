/**
 * translate() with its memory: each translation hands the next its last good settings and its
 * port allocation, so a Service with a broken annotation keeps its behaviour and ports never
 * move. The controller, standalone and the golden tests all translate through one of these.
 */
import type { PortId } from '../../table/index.ts';
import type { ClusterChange, ClusterState } from '../objects.ts';
import { translate } from './translate.ts';
import { emptyMemory } from './types.ts';
import type { TranslateOptions, TranslateResult, TranslationMemory } from './types.ts';

/** Default time a freed proxy port is kept out of allocation. */
export const PORT_QUARANTINE_MS = 5 * 60_000;

export class Translator {
  readonly #options: TranslateOptions;
  #memory: TranslationMemory = emptyMemory();
  #ports: ReadonlyMap<PortId, number> | undefined;
  #translations = 0;
  /** Ports freed by earlier translations, with when (the clock's ms). */
  readonly #freed = new Map<number, number>();
  readonly #now: () => number;

  /**
   * `ports`: allocations that exist before the first translation (e.g. read from the shadows).
   * `now`: the clock of port quarantine (tests pass their own).
   */
  constructor(options: TranslateOptions, ports?: ReadonlyMap<PortId, number>, now: () => number = Date.now) {
    this.#options = options;
    this.#ports = ports;
    this.#now = now;
  }

  /** The allocation the next translation starts from. */
  get ports(): ReadonlyMap<PortId, number> {
    return this.#ports ?? NO_PORTS;
  }

  /**
   * Translates `state` and keeps the result's memory and ports for the next call. `options`
   * override the constructor's for this call; `startPorts` is used only before the first call;
   * `changes` (what changed since the state translated last) lets it patch the last table.
   */
  translate(state: ClusterState, options?: Partial<TranslateOptions>, startPorts?: ReadonlyMap<PortId, number>, changes?: ClusterChange): TranslateResult {
    const ports = this.ports;
    const result = this.#run(state, options, startPorts, changes);
    // The same allocation (by identity) moved no port.
    if (result.ports !== ports) {
      const before = new Set(ports.values());
      const now = this.#now();
      const after = new Set(result.ports.values());
      for (const p of before) if (!after.has(p)) this.#freed.set(p, now);
      for (const p of after) this.#freed.delete(p);
    }
    this.#memory = result.memory;
    this.#ports = result.ports;
    this.#translations++;
    return result;
  }

  /** The translation translate() would make, without keeping anything. */
  preview(state: ClusterState, options?: Partial<TranslateOptions>, startPorts?: ReadonlyMap<PortId, number>): TranslateResult {
    // A memory is updated in place by a patching translation: a preview never patches.
    return this.#run(state, options, startPorts, undefined);
  }

  #run(state: ClusterState, options: Partial<TranslateOptions> | undefined, startPorts: ReadonlyMap<PortId, number> | undefined, changes: ClusterChange | undefined): TranslateResult {
    const ports = this.#translations === 0 && startPorts ? startPorts : this.ports;
    const opts = options ? { ...this.#options, ...options } : this.#options;
    const quarantined = this.#quarantined(opts.portQuarantineMs ?? PORT_QUARANTINE_MS);
    // A port allocated now is never held back from its holder (a quarantine read back from a
    // store may name a port the shadows still allocate).
    if (quarantined.size > 0) for (const p of ports.values()) quarantined.delete(p);
    const effective = quarantined.size === 0 ? opts : { ...opts, reservedPorts: new Set([...(opts.reservedPorts ?? []), ...quarantined]) };
    return translate({ state, memory: this.#memory, ports, options: effective, ...(changes === undefined ? {} : { changes }) });
  }

  /**
   * Freed ports still in quarantine with when they were freed (the clock's ms), for a store to
   * keep across restarts (src/controller/kube/quarantine-store.ts).
   */
  quarantine(ms = this.#options.portQuarantineMs ?? PORT_QUARANTINE_MS): Map<number, number> {
    this.#quarantined(ms);
    return new Map(this.#freed);
  }

  /** Ports a previous run freed (read back from a store): quarantined until their time is up. */
  restoreQuarantine(freed: ReadonlyMap<number, number>): void {
    for (const [port, at] of freed) if (!this.#freed.has(port)) this.#freed.set(port, at);
  }

  /** Freed ports still in quarantine (expired ones are forgotten). */
  #quarantined(ms: number): Set<number> {
    const out = new Set<number>();
    const now = this.#now();
    for (const [port, at] of this.#freed) {
      if (now - at < ms) out.add(port);
      else this.#freed.delete(port);
    }
    return out;
  }
}

const NO_PORTS: ReadonlyMap<PortId, number> = new Map();
