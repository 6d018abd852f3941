function seriesKey(v) {
    const labels = v.labels;
    let key = v.metricName ?? '';
    for (const k of Object.keys(labels).toSorted())
        key += `\u0000${k}=${labels[k]}`;
    return key;
}
export class RetiredCounts {
    /** name -> metric shape and its values by series. */
    #metrics = new Map();
    /** Adds an exited worker's last counters and histograms. */
    add(metrics) {
        for (const m of metrics) {
            const type = m.type;
            if ((type !== 'counter' && type !== 'histogram') || m.aggregator !== 'sum')
                continue;
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
    prune(live) {
        // No worker answered: nothing to tell live series from gone ones, so forget nothing.
        if (this.#metrics.size === 0 || live.length === 0)
            return [];
        const liveKeys = new Map();
        for (const metrics of live) {
            for (const m of metrics) {
                if (!this.#metrics.has(m.name))
                    continue;
                let keys = liveKeys.get(m.name);
                if (keys === undefined)
                    liveKeys.set(m.name, (keys = new Set()));
                for (const v of m.values)
                    keys.add(seriesKey(v));
            }
        }
        const out = [];
        for (const [name, kept] of this.#metrics) {
            const keys = liveKeys.get(name);
            for (const key of kept.values.keys())
                if (keys === undefined || !keys.has(key))
                    kept.values.delete(key);
            if (kept.values.size === 0) {
                this.#metrics.delete(name);
                continue;
            }
            out.push({ ...kept.meta, values: [...kept.values.values()] });
        }
        return out;
    }
}
