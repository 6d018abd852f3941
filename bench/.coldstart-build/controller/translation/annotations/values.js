import { isHttpToken, TOKEN_CHARACTERS } from '../../../table/index.js';
const ok = (value) => ({ ok: true, value });
const fail = (reason) => ({ ok: false, reason });
export const DURATION_HINT = '(use e.g. 300ms, 3s, 1m30s)';
const MS_PER_UNIT = {
    ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};
/** Longer than any timeout makes sense for; also keeps arithmetic exact. */
const MAX_DURATION_MS = 1e12;
/**
 * Go's time.ParseDuration syntax (`300ms`, `1.5s`, `1m30s`, `1h`, a bare `0`), in
 * milliseconds rounded to the nanosecond. Negative durations are refused.
 */
export function parseDuration(raw) {
    const notDuration = `is not a duration ${DURATION_HINT}`;
    let s = raw;
    if (s.startsWith('-'))
        return fail(`is negative; a duration must be positive ${DURATION_HINT}`);
    if (s.startsWith('+'))
        s = s.slice(1);
    if (s === '0')
        return ok(0);
    if (s === '')
        return fail(notDuration);
    let total = 0;
    let i = 0;
    while (i < s.length) {
        const num = /^(\d*)(?:\.(\d*))?/.exec(s.slice(i));
        const whole = num?.[1] ?? '';
        const frac = num?.[2] ?? '';
        if (whole === '' && frac === '')
            return fail(notDuration);
        i += num?.[0].length ?? 0;
        const unit = /^[^\d.]+/.exec(s.slice(i))?.[0];
        if (unit === undefined)
            return fail(`is not a duration: the number has no unit ${DURATION_HINT}`);
        const scale = MS_PER_UNIT[unit];
        if (scale === undefined) {
            return fail(/^[a-zµμ]+$/i.test(unit) ? `is not a duration: unknown unit "${unit}" ${DURATION_HINT}` : notDuration);
        }
        i += unit.length;
        total += Number(`${whole || '0'}.${frac || '0'}`) * scale;
        if (!(total <= MAX_DURATION_MS))
            return fail('is too long a duration');
    }
    return ok(Math.round(total * 1e6) / 1e6);
}
/** Canonical Go-style spelling of a whole number of milliseconds, e.g. `1h2m3.5s`, `250ms`. */
export function formatDuration(ms) {
    if (ms === 0)
        return '0s';
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    const s = Math.floor((ms % 60_000) / 1000);
    const rest = ms % 1000;
    let out = (h > 0 ? `${h}h` : '') + (m > 0 ? `${m}m` : '');
    if (out === '' && s === 0)
        return `${rest}ms`;
    if (s > 0 || rest > 0)
        out += rest > 0 ? `${s}.${String(rest).padStart(3, '0').replace(/0+$/, '')}s` : `${s}s`;
    return out;
}
/** A duration as whole milliseconds within [minMs, maxMs]; sub-millisecond parts round up. */
export function parseDurationMs(raw, minMs, maxMs) {
    const d = parseDuration(raw);
    if (!d.ok)
        return d;
    const ms = Math.ceil(d.value);
    if (ms < minMs || ms > maxMs)
        return fail(`is out of range: must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`);
    return ok(ms);
}
export function parseBoolean(raw) {
    const v = raw.toLowerCase();
    if (v === 'true')
        return ok(true);
    if (v === 'false')
        return ok(false);
    return fail('is not a boolean (use "true" or "false")');
}
export function parseInteger(raw, min, max) {
    if (!/^\d{1,15}$/.test(raw))
        return fail(`is not a whole number (use e.g. ${Math.max(min, 1)})`);
    const n = Number(raw);
    if (n < min || n > max)
        return fail(`is out of range: must be between ${min} and ${max}`);
    return ok(n);
}
export function parseEnum(raw, allowed) {
    const v = raw.toLowerCase();
    for (const a of allowed)
        if (a === v)
            return ok(a);
    return fail(`is not one of ${allowed.join(', ')}`);
}
const MAX_RATE = 1_000_000_000;
/** `<n>r/s` or `<n>r/m` (Caddy's rate syntax). */
export function parseRate(raw) {
    const m = /^(\d{1,10})\s*r\/(s|m)$/.exec(raw);
    if (!m)
        return fail('is not a rate (use e.g. 100r/s or 30r/m)');
    const n = Number(m[1]);
    if (n < 1 || n > MAX_RATE)
        return fail(`is out of range: the count must be between 1 and ${MAX_RATE}`);
    const unit = m[2] === 'm' ? 'm' : 's';
    return ok({ ratePerSecond: unit === 's' ? n : n / 60, perPeriod: n, unit });
}
export function formatRate(rate) {
    return `${rate.perPeriod}r/${rate.unit}`;
}
/**
 * HTTP status codes: a comma-separated list of `502`, `500-504`, `5xx` and `gateway-error`
 * (502-504), returned as sorted, merged inclusive ranges.
 */
export function parseCodes(raw) {
    const ranges = [];
    for (const part of raw.split(',')) {
        const t = part.trim().toLowerCase();
        let range;
        if (t === 'gateway-error')
            range = [502, 504];
        else if (/^[1-5]xx$/.test(t))
            range = [Number(t[0]) * 100, Number(t[0]) * 100 + 99];
        else {
            const m = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(t);
            if (m)
                range = [Number(m[1]), Number(m[2] ?? m[1])];
        }
        if (!range)
            return fail(`is not a list of status codes: "${part.trim()}" (use e.g. 502,503 or 500-504 or 5xx or gateway-error)`);
        if (range[0] < 100 || range[1] > 599 || range[0] > range[1]) {
            return fail(`has "${part.trim()}", which is not a status code range within 100-599`);
        }
        ranges.push(range);
    }
    return ok(mergeRanges(ranges));
}
function mergeRanges(ranges) {
    const sorted = [...ranges].toSorted((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out = [];
    for (const r of sorted) {
        const last = out.at(-1);
        if (last && r[0] <= last[1] + 1)
            last[1] = Math.max(last[1], r[1]);
        else
            out.push([r[0], r[1]]);
    }
    return out;
}
export function formatCodes(ranges) {
    return ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}
export const MAX_WEIGHT = 1_000_000;
/** `server-v1=90,server-v2=10`: Service names of the same namespace with integer weights. */
export function parseWeights(raw) {
    const out = [];
    for (const part of raw.split(',')) {
        const m = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(part);
        if (!m)
            return fail(`is not a list of weights: "${part.trim()}" (use e.g. server-v1=90,server-v2=10)`);
        const name = parseServiceName(m[1] ?? '');
        if (!name.ok)
            return fail(`has "${m[1]}", which ${name.reason}`);
        const weight = parseInteger(m[2] ?? '', 0, MAX_WEIGHT);
        if (!weight.ok)
            return fail(`gives ${name.value} the weight "${m[2]}", which ${weight.reason}`);
        if (out.some((w) => w.service === name.value))
            return fail(`names ${name.value} twice`);
        out.push({ service: name.value, weight: weight.value });
    }
    if (out.every((w) => w.weight === 0))
        return fail('gives every Service the weight 0, so nothing would get traffic');
    return ok(out);
}
export function formatWeights(weights) {
    return weights.map((w) => `${w.service}=${w.weight}`).join(',');
}
/** 0-100, fractions allowed, an optional `%`. */
export function parsePercent(raw) {
    const m = /^(\d{1,3}(?:\.\d{1,6})?)\s*%?$/.exec(raw);
    if (!m)
        return fail('is not a percentage (use a number from 0 to 100, e.g. 10 or 2.5)');
    const n = Number(m[1]);
    if (n > 100)
        return fail('is out of range: must be between 0 and 100');
    return ok(n);
}
/** A Service name: an RFC 1035 label (lower-case letters, digits and `-`, at most 63). */
export function parseServiceName(raw) {
    if (raw.length > 63 || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(raw)) {
        return fail('is not a Service name (lower-case letters, digits and "-", starting with a letter, at most 63 characters)');
    }
    return ok(raw);
}
/** An HTTP token (RFC 9110), as cookie and header names must be. */
export function parseToken(raw, what) {
    // The same rule the table validator applies (src/table/policies/tokens.ts), with a length cap.
    if (raw.length > 256 || !isHttpToken(raw))
        return fail(`is not a valid ${what} name (${TOKEN_CHARACTERS})`);
    return ok(raw);
}
