/**
 * Counts of workers that exited, so the pool's sums never go down. A worker that crashes or is
 * replaced takes its counters with it; Prometheus would read the drop as a counter reset and
 * report the whole remaining sum as an increase. The supervisor keeps each worker's last
 * scraped counters and histograms and adds them to the series live workers still expose
 * (series that are gone, such as a removed route's, are forgotten). What a worker counted
 * after its last scrape is lost: the sums stay monotonic, slightly low.
 */
import type { WorkerMetrics } from './protocol.ts';

type Metric = WorkerMetrics[number];
type Value = Metric['values'][number];

function seriesKey(v: Value): string {
  const labels = v.labels as Record<string, string | number>;
  let key = (v as { metricName?: string }).metricName ?? '';
  for (const k of Object.keys(labels).toSorted()) key += `\u0000${k}=${labels[k]}`;
  return key;
}

export class RetiredCounts {
  /** name -> metric shape and its values by series. */
  readonly #metrics = new Map<string, { meta: Omit<Metric, 'values'>; values: Map<string, Value> }>();

  /** Adds an exited worker's last counters and histograms. */
  add(metrics: WorkerMetrics): void {
    for (const m of metrics) {
      const type = m.type as unknown as string;
      if ((type !== 'counter' && type !== 'histogram') || m.aggregator !== 'sum') continue;
      let kept = this.#metrics.get(m.name);
      if (kept === undefined) {
        const { values: _values, ...meta } = m;
        kept = { meta, values: new Map() };
        this.#metrics.set(m.name, kept);
      }
      for (const v of m.values) {
        const key = seriesKey(v);
        const prev = kept.values.get(key);
        kept.values.set(key, { ...v, value: (prev?.value ?? 0) + v.value });
      }
    }
  }

  /** The retired values of the series `live` workers expose; every other retired series is dropped. */
  prune(live: readonly WorkerMetrics[]): WorkerMetrics {
    // No worker answered: nothing to tell live series from gone ones, so forget nothing.
    if (this.#metrics.size === 0 || live.length === 0) return [];
    const liveKeys = new Map<string, Set<string>>();
    for (const metrics of live) {
      for (const m of metrics) {
        if (!this.#metrics.has(m.name)) continue;
        let keys = liveKeys.get(m.name);
        if (keys === undefined) liveKeys.set(m.name, (keys = new Set()));
        for (const v of m.values) keys.add(seriesKey(v));
      }
    }
    const out: WorkerMetrics = [];
    for (const [name, kept] of this.#metrics) {
      const keys = liveKeys.get(name);
      for (const key of kept.values.keys()) if (keys === undefined || !keys.has(key)) kept.values.delete(key);
      if (kept.values.size === 0) {
        this.#metrics.delete(name);
        continue;
      }
      out.push({ ...kept.meta, values: [...kept.values.values()] } as Metric);
    }
    return out;
  }
}
