/** Retries (`RouteEntry.retry`). */
import { MAX_MS } from '../checker.js';
export const MAX_RETRY_COUNT = 100;
export const RETRY = {
    field: 'retry',
    httpOnly: true,
    validate: (v, { c, path }) => {
        const rt = c.object(v, path);
        if (!rt)
            return;
        if (c.optional(rt, 'count'))
            c.integer(rt.count, `${path}.count`, 0, MAX_RETRY_COUNT);
        if (c.optional(rt, 'durationMs'))
            c.integer(rt.durationMs, `${path}.durationMs`, 1, MAX_MS);
        if (rt.count === undefined && rt.durationMs === undefined)
            c.fail(path, 'needs count or durationMs');
        c.string(rt.on, `${path}.on`, { nonEmpty: true });
        if (c.optional(rt, 'backoffMs'))
            c.integer(rt.backoffMs, `${path}.backoffMs`, 0, MAX_MS);
        c.array(rt.codes, `${path}.codes`).forEach((range, k) => {
            const ok = Array.isArray(range) && range.length === 2 &&
                range.every((n) => Number.isInteger(n) && n >= 100 && n <= 599) && range[0] <= range[1];
            if (!ok)
                c.fail(`${path}.codes[${k}]`, `must be [from, to] with 100 <= from <= to <= 599, got ${JSON.stringify(range)}`);
        });
    },
};
