import { translate } from './translate.js';
import { emptyMemory } from './types.js';
/** Default time a freed proxy port is kept out of allocation. */
export const PORT_QUARANTINE_MS = 5 * 60_000;
export class Translator {
    #options;
    #memory = emptyMemory();
    #ports;
    #translations = 0;
    /** Ports freed by earlier translations, with when (the clock's ms). */
    #freed = new Map();
    #now;
    /**
     * `ports`: allocations that exist before the first translation (e.g. read from the shadows).
     * `now`: the clock of port quarantine (tests pass their own).
     */
    constructor(options, ports, now = Date.now) {
        this.#options = options;
        this.#ports = ports;
        this.#now = now;
    }
    /** The allocation the next translation starts from. */
    get ports() {
        return this.#ports ?? NO_PORTS;
    }
    /**
     * Translates `state` and keeps the result's memory and ports for the next call. `options`
     * override the constructor's for this call; `startPorts` is used only before the first call.
     */
    translate(state, options, startPorts) {
        const before = new Set(this.ports.values());
        const result = this.preview(state, options, startPorts);
        const now = this.#now();
        const after = new Set(result.ports.values());
        for (const p of before)
            if (!after.has(p))
                this.#freed.set(p, now);
        for (const p of after)
            this.#freed.delete(p);
        this.#memory = result.memory;
        this.#ports = result.ports;
        this.#translations++;
        return result;
    }
    /** The translation translate() would make, without keeping anything. */
    preview(state, options, startPorts) {
        const ports = this.#translations === 0 && startPorts ? startPorts : this.ports;
        const opts = options ? { ...this.#options, ...options } : this.#options;
        const quarantined = this.#quarantined(opts.portQuarantineMs ?? PORT_QUARANTINE_MS);
        const effective = quarantined.size === 0 ? opts : { ...opts, reservedPorts: new Set([...(opts.reservedPorts ?? []), ...quarantined]) };
        return translate({ state, memory: this.#memory, ports, options: effective });
    }
    /** Freed ports still in quarantine (expired ones are forgotten). */
    #quarantined(ms) {
        const out = new Set();
        const now = this.#now();
        for (const [port, at] of this.#freed) {
            if (now - at < ms)
                out.add(port);
            else
                this.#freed.delete(port);
        }
        return out;
    }
}
const NO_PORTS = new Map();
