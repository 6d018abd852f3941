/**
 * translate() with its memory: each translation hands the next its last good settings and its
 * port allocation, so a Service with a broken annotation keeps its behaviour and ports never
 * move. The controller, standalone and the golden tests all translate through one of these.
 */
import type { PortId } from '../../table/index.ts';
import type { ClusterState } from '../objects.ts';
import { translate } from './translate.ts';
import { emptyMemory } from './types.ts';
import type { TranslateOptions, TranslateResult, TranslationMemory } from './types.ts';

export class Translator {
  readonly #options: TranslateOptions;
  #memory: TranslationMemory = emptyMemory();
  #ports: ReadonlyMap<PortId, number> | undefined;
  #translations = 0;

  /** `ports`: allocations that exist before the first translation (e.g. read from the shadows). */
  constructor(options: TranslateOptions, ports?: ReadonlyMap<PortId, number>) {
    this.#options = options;
    this.#ports = ports;
  }

  /** The allocation the next translation starts from. */
  get ports(): ReadonlyMap<PortId, number> {
    return this.#ports ?? NO_PORTS;
  }

  /**
   * Translates `state` and keeps the result's memory and ports for the next call. `options`
   * override the constructor's for this call; `startPorts` is used only before the first call.
   */
  translate(state: ClusterState, options?: Partial<TranslateOptions>, startPorts?: ReadonlyMap<PortId, number>): TranslateResult {
    const result = this.preview(state, options, startPorts);
    this.#memory = result.memory;
    this.#ports = result.ports;
    this.#translations++;
    return result;
  }

  /** The translation translate() would make, without keeping anything. */
  preview(state: ClusterState, options?: Partial<TranslateOptions>, startPorts?: ReadonlyMap<PortId, number>): TranslateResult {
    const ports = this.#translations === 0 && startPorts ? startPorts : this.ports;
    return translate({ state, memory: this.#memory, ports, options: options ? { ...this.#options, ...options } : this.#options });
  }
}

const NO_PORTS: ReadonlyMap<PortId, number> = new Map();
