/**
 * The controller of `hostmesh standalone`: a directory of manifests as the source, the same
 * translation and publisher as in a cluster, and no API server to write to. The CLI wires it to
 * one in-process proxy (src/cli/standalone.ts).
 */
import type { Logger } from '../common/log.ts';
import { Publisher } from './push/publisher.ts';
import { ManifestSource } from './source/manifests.ts';
import { Translator } from './translation/translator.ts';
import type { Diagnostic } from './translation/types.ts';

export interface StandaloneControllerOptions {
  /** A directory of manifests, or one manifest file. */
  manifests: string;
  portRange: readonly [number, number];
  zones: readonly string[];
  /** ACL mode (SMI TrafficTargets -> access policies). */
  acl?: boolean;
  /** Ports never allocated (our own servers'); reserve() adds ports another process holds. */
  reservedPorts: Iterable<number>;
  log: Logger;
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

  constructor(options: StandaloneControllerOptions) {
    this.#log = options.log;
    this.#reserved = new Set(options.reservedPorts);
    this.#translator = new Translator({ mode: 'standalone', portRange: options.portRange, zones: options.zones, reservedPorts: this.#reserved, acl: options.acl === true });
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
