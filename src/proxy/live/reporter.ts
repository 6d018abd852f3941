/**
 * The proxy's live report to the controller (src/table/live.ts): every few seconds it POSTs
 * the request counts since its last report and any tap events; the answer carries the active
 * tap subscriptions and when to report next (sooner while someone taps). Separate from the
 * config client: the watch/ack protocol is untouched, and a controller without this endpoint
 * (404) only means no live stats.
 */
import { errorMessage } from '../../common/errors.ts';
import { ControllerHttp } from '../config/controller-http.ts';
import type { Logger } from '../../common/log.ts';
import { REPORT_PATH } from '../../table/live.ts';
import type { ReportAnswer, TapEvent, TapSubscription } from '../../table/live.ts';
import type { LiveSource } from './counts.ts';
import { ReportBuilder } from './report.ts';
import type { ReportIdentity } from './report.ts';

export interface ReporterOptions extends ReportIdentity {
  controllerUrl: string | URL;
  token: string;
  source: LiveSource;
  log: Logger;
  /** Interval until the controller says otherwise, and after a failed report, ms (default 5 s). */
  intervalMs?: number;
}

export const DEFAULT_REPORT_MS = 5000;
/** Bounds on what the controller may ask for. */
const MIN_REPORT_MS = 100;
const MAX_REPORT_MS = 60_000;

export class LiveReporter {
  #opts: ReporterOptions;
  readonly #http: ControllerHttp;
  readonly #builder: ReportBuilder;
  #taps: TapSubscription[] = [];
  #tapsKey = '[]';
  /** Events drained while installing new taps, sent with the next report. */
  #pending: TapEvent[] = [];
  #pendingDropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #lastError = '';

  constructor(opts: ReporterOptions) {
    this.#opts = opts;
    this.#http = new ControllerHttp(opts.controllerUrl, 1);
    this.#builder = new ReportBuilder(opts);
  }

  /** A rotated token (the token file changed): used from the next report on. */
  setToken(token: string): void {
    this.#opts = { ...this.#opts, token };
  }

  start(): void {
    this.#schedule(Math.min(1000, this.#opts.intervalMs ?? DEFAULT_REPORT_MS));
  }

  /** The subscriptions installed now (diagnostics and tests). */
  get taps(): readonly TapSubscription[] {
    return this.#taps;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    this.#http.destroy();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().then((next) => this.#schedule(next));
    }, ms);
    this.#timer.unref();
  }

  /** One report; resolves to the delay before the next. Never throws. */
  async #tick(): Promise<number> {
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
      const res = await this.#http.request({
        path: REPORT_PATH,
        method: 'POST',
        headers: { authorization: `Bearer ${this.#opts.token.trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify(report),
        timeoutMs: 10_000,
      });
      res.setEncoding('utf8');
      let text = '';
      for await (const chunk of res) text += chunk as string;
      if (res.statusCode !== 200) throw new Error(`the controller answered ${res.statusCode}: ${text.slice(0, 200)}`);
      const answer = JSON.parse(text) as ReportAnswer;
      await this.#install(Array.isArray(answer.taps) ? answer.taps : []);
      this.#lastError = '';
      const next = Number(answer.nextReportMs);
      return Number.isFinite(next) ? Math.min(MAX_REPORT_MS, Math.max(MIN_REPORT_MS, next)) : fallback;
    } catch (e) {
      const message = `live report not delivered: ${errorMessage(e)}`;
      if (message !== this.#lastError && !this.#stopped) this.#opts.log.warn(message);
      this.#lastError = message;
      return fallback;
    }
  }

  /** New subscriptions take effect at once rather than at the next report. */
  async #install(taps: TapSubscription[]): Promise<void> {
    const key = JSON.stringify(taps);
    if (key === this.#tapsKey) return;
    this.#taps = taps;
    this.#tapsKey = key;
    const sample = await this.#opts.source.live(taps);
    this.#pending.push(...sample.tap);
    this.#pendingDropped += sample.tapDropped;
  }
}
