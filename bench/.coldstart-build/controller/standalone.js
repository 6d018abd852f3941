import { Publisher } from './push/publisher.js';
import { ManifestSource } from './source/manifests.js';
import { Translator } from './translation/translator.js';
export class StandaloneController {
    publisher = new Publisher({ coalesceMs: 20, maxDelayMs: 100 });
    source;
    #log;
    #reserved;
    #translator;
    #diagnostics = [];
    /** Diagnostics are logged once each; a fixed problem that comes back is logged again. */
    #reported = new Set();
    constructor(options) {
        this.#log = options.log;
        this.#reserved = new Set(options.reservedPorts);
        this.#translator = new Translator({ mode: 'standalone', portRange: options.portRange, zones: options.zones, reservedPorts: this.#reserved });
        this.source = new ManifestSource({ dir: options.manifests, logger: options.log });
        this.source.subscribe(() => this.build());
    }
    /** Reads the manifests once; rejects when they cannot be read. Tables follow build(). */
    start() {
        return this.source.start();
    }
    /** Translates the current manifests, publishes the table and logs new problems. */
    build() {
        const result = this.#translator.translate(this.source.current());
        this.#diagnostics = [...this.source.diagnostics(), ...result.diagnostics];
        this.publisher.publish(result.content, this.#diagnostics);
        this.#report();
    }
    /** A port another process holds: never allocated again in this run; translates again. */
    reserve(port) {
        this.#reserved.add(port);
        this.build();
    }
    diagnostics() {
        return this.#diagnostics;
    }
    /** Re-reads the manifests and resolves once the resulting table is published. */
    async settled() {
        await this.source.rescan();
        await this.publisher.flush();
    }
    async stop() {
        await this.source.stop();
        this.publisher.close();
    }
    #report() {
        const next = new Set();
        for (const d of this.#diagnostics) {
            if (d.severity === 'info')
                continue;
            next.add(d.message);
            if (!this.#reported.has(d.message))
                this.#log.warn({ code: d.code, object: d.object, key: d.key }, d.message);
        }
        this.#reported = next;
    }
}
