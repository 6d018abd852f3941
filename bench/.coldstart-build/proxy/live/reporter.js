/**
 * The proxy's live report to the controller (src/table/live.ts): every few seconds it POSTs
 * the request counts since its last report and any tap events; the answer carries the active
 * tap subscriptions and when to report next (sooner while someone taps). Separate from the
 * config client: the watch/ack protocol is untouched, and a controller without this endpoint
 * (404) only means no live stats.
 */
import { Pool } from 'undici';
import { errorMessage } from '../../common/errors.js';
import { REPORT_PATH } from '../../table/live.js';
import { ReportBuilder } from './report.js';
export const DEFAULT_REPORT_MS = 5000;
/** Bounds on what the controller may ask for. */
const MIN_REPORT_MS = 100;
const MAX_REPORT_MS = 60_000;
export class LiveReporter {
    #opts;
    #pool;
    #path;
    #builder;
    #taps = [];
    #tapsKey = '[]';
    /** Events drained while installing new taps, sent with the next report. */
    #pending = [];
    #pendingDropped = 0;
    #timer;
    #running;
    #stopped = false;
    #lastError = '';
    constructor(opts) {
        this.#opts = opts;
        const url = new URL(opts.controllerUrl);
        this.#pool = new Pool(url.origin, { connections: 1 });
        this.#path = `${url.pathname.replace(/\/+$/, '')}${REPORT_PATH}`;
        this.#builder = new ReportBuilder(opts);
    }
    /** A rotated token (the token file changed): used from the next report on. */
    setToken(token) {
        this.#opts = { ...this.#opts, token };
    }
    start() {
        this.#schedule(Math.min(1000, this.#opts.intervalMs ?? DEFAULT_REPORT_MS));
    }
    /** The subscriptions installed now (diagnostics and tests). */
    get taps() {
        return this.#taps;
    }
    async stop() {
        this.#stopped = true;
        clearTimeout(this.#timer);
        await this.#running;
        await this.#pool.destroy();
    }
    #schedule(ms) {
        if (this.#stopped)
            return;
        this.#timer = setTimeout(() => {
            this.#running = this.#tick().then((next) => this.#schedule(next));
        }, ms);
        this.#timer.unref();
    }
    /** One report; resolves to the delay before the next. Never throws. */
    async #tick() {
        const fallback = this.#opts.intervalMs ?? DEFAULT_REPORT_MS;
        try {
            const sample = await this.#opts.source.live(this.#taps);
            if (this.#pending.length > 0) {
                sample.tap = [...this.#pending, ...sample.tap];
                sample.tapDropped += this.#pendingDropped;
                this.#pending = [];
                this.#pendingDropped = 0;
            }
            const report = this.#builder.build(sample);
            const res = await this.#pool.request({
                path: this.#path,
                method: 'POST',
                headers: { authorization: `Bearer ${this.#opts.token.trim()}`, 'content-type': 'application/json' },
                body: JSON.stringify(report),
                headersTimeout: 10_000,
                bodyTimeout: 10_000,
            });
            const text = await res.body.text();
            if (res.statusCode !== 200)
                throw new Error(`the controller answered ${res.statusCode}: ${text.slice(0, 200)}`);
            const answer = JSON.parse(text);
            await this.#install(Array.isArray(answer.taps) ? answer.taps : []);
            this.#lastError = '';
            const next = Number(answer.nextReportMs);
            return Number.isFinite(next) ? Math.min(MAX_REPORT_MS, Math.max(MIN_REPORT_MS, next)) : fallback;
        }
        catch (e) {
            const message = `live report not delivered: ${errorMessage(e)}`;
            if (message !== this.#lastError && !this.#stopped)
                this.#opts.log.warn(message);
            this.#lastError = message;
            return fallback;
        }
    }
    /** New subscriptions take effect at once rather than at the next report. */
    async #install(taps) {
        const key = JSON.stringify(taps);
        if (key === this.#tapsKey)
            return;
        this.#taps = taps;
        this.#tapsKey = key;
        const sample = await this.#opts.source.live(taps);
        this.#pending.push(...sample.tap);
        this.#pendingDropped += sample.tapDropped;
    }
}
