/**
 * A Service's annotations -> typed settings, all together or not at all.
 *
 * Canonical `hostmesh.io/` keys, Caddy Mesh and Traefik Mesh aliases are read into one value per
 * setting (the canonical spelling wins a disagreement, with a warning), then combined and
 * checked as a whole. Any error means the caller must keep the Service's last good settings.
 */
import { INTERNAL_KEYS, KEYS, KEY_NAMES, PREFIXES, aliasNames, nearest } from './keys.js';
import { DEFAULT_RATE_LIMIT_KEY, DEFAULT_RATE_LIMIT_ZONE_SIZE } from '../../../table/index.js';
import { defaultSettings } from './settings.js';
import { diagnostic, quote, serviceObject } from '../diagnostics.js';
const MAX_VALUE_LENGTH = 4096;
export function parseServiceAnnotations(service, annotations, ctx = {}) {
    const object = serviceObject(service.namespace, service.name);
    const label = `${service.namespace}/${service.name}`;
    const diagnostics = [];
    const grouped = groupEntries(annotations ?? {}, object, label, diagnostics);
    const annotated = grouped.annotated;
    let invalid = false;
    const resolved = { values: {}, keyOf: {}, valueOf: {} };
    for (const name of KEY_NAMES) {
        const entries = grouped.byKey.get(name);
        if (!entries)
            continue;
        if (!resolveKey(name, entries, resolved, object, label, diagnostics, ctx))
            invalid = true;
    }
    const mesh = resolved.values.mesh;
    if (mesh === false) {
        // Opted out: the other annotations do not matter, so their problems are not reported.
        return { mesh, diagnostics: diagnostics.filter((d) => d.key === resolved.keyOf.mesh), annotated };
    }
    const settings = combine(resolved, object, label, service.name, diagnostics);
    if (!settings)
        invalid = true;
    const result = { diagnostics, annotated };
    if (mesh !== undefined)
        result.mesh = mesh;
    if (!invalid && settings)
        result.settings = settings;
    return result;
}
function groupEntries(annotations, object, label, diagnostics) {
    const byKey = new Map();
    let annotated = false;
    // Precedence order first, then key order, so results do not depend on object key order.
    const keys = Object.keys(annotations).toSorted();
    for (const { prefix, source } of PREFIXES) {
        for (const key of keys) {
            if (!key.startsWith(prefix))
                continue;
            annotated = true;
            const suffix = key.slice(prefix.length);
            const raw = annotations[key];
            const value = typeof raw === 'string' ? raw.trim() : String(raw);
            const found = source === 'hostmesh' ? canonical(suffix) : alias(source, suffix);
            if (!found) {
                if (source === 'hostmesh' && INTERNAL_KEYS.includes(suffix))
                    continue;
                const suggestion = nearest(suffix, source === 'hostmesh' ? KEY_NAMES : aliasNames(source));
                const hint = suggestion ? ` (did you mean ${prefix}${suggestion}?)` : '';
                diagnostics.push(source === 'hostmesh'
                    ? diagnostic('warning', 'annotation-unknown', object, `${label}: ${key} is not a hostmesh annotation and is ignored${hint}`, { key, value })
                    : diagnostic('warning', 'annotation-alias-unsupported', object, `${label}: ${key} is not a ${source === 'caddy' ? 'Caddy Mesh' : 'Traefik Mesh'} annotation hostmesh understands and is ignored${hint}`, { key, value }));
                continue;
            }
            const list = byKey.get(found.name) ?? [];
            list.push({ key, value, source, parse: found.parse });
            byKey.set(found.name, list);
        }
    }
    return { byKey, annotated };
}
function canonical(suffix) {
    if (!Object.hasOwn(KEYS, suffix))
        return undefined;
    const name = suffix;
    return { name, parse: KEYS[name].parse };
}
function alias(source, suffix) {
    for (const name of KEY_NAMES) {
        const spec = KEYS[name];
        const a = spec.aliases.find((x) => x.source === source && x.name === suffix);
        if (a)
            return { name, parse: a.parse ?? spec.parse };
    }
    return undefined;
}
/** Parses every spelling of one setting; the first (by precedence) wins. False when the winner is invalid. */
function resolveKey(name, entries, resolved, object, label, diagnostics, ctx) {
    const spec = KEYS[name];
    const same = spec.same ?? ((a, b) => a === b);
    const parsed = entries.map((e) => (e.value.length > MAX_VALUE_LENGTH
        ? { ok: false, reason: `is too long (at most ${MAX_VALUE_LENGTH} characters)` }
        : e.parse(e.value, ctx)));
    const winner = entries[0];
    const won = parsed[0];
    for (let i = 1; i < entries.length; i++) {
        const other = entries[i];
        const p = parsed[i];
        if (won.ok && p.ok && same(won.value, p.value))
            continue;
        diagnostics.push(diagnostic('warning', 'annotation-alias-conflict', object, `${label}: ${other.key}: ${quote(other.value)} ${p.ok ? 'disagrees with' : `${p.reason}, and is overridden by`} ${winner.key}: ${quote(winner.value)}; ${winner.key} wins`, { key: other.key, value: other.value }));
    }
    if (!won.ok) {
        diagnostics.push(diagnostic('error', spec.expression ? 'annotation-invalid-expression' : 'annotation-invalid', object, `${label}: ${winner.key}: ${quote(winner.value)} ${won.reason}`, { key: winner.key, value: winner.value }));
        return false;
    }
    resolved.values[name] = won.value;
    resolved.keyOf[name] = winner.key;
    resolved.valueOf[name] = winner.value;
    return true;
}
/** Combines the values into settings, checking how they fit together. Undefined on any error. */
function combine(r, object, label, selfName, diagnostics) {
    const v = r.values;
    const key = (n) => r.keyOf[n] ?? `hostmesh.io/${n}`;
    let ok = true;
    const said = (n, message) => `${label}: ${key(n)}: ${quote(r.valueOf[n] ?? '')} ${message}`;
    const error = (n, message) => {
        ok = false;
        diagnostics.push(diagnostic('error', 'annotation-conflict', object, said(n, message), { key: key(n), value: r.valueOf[n] ?? '' }));
    };
    const ignored = (n, message) => {
        diagnostics.push(diagnostic('warning', 'annotation-ignored', object, `${said(n, message)}; it is ignored`, { key: key(n), value: r.valueOf[n] ?? '' }));
    };
    const s = defaultSettings();
    if (v['traffic-type'] !== undefined)
        s.trafficType = v['traffic-type'];
    if (v.scheme !== undefined)
        s.scheme = v.scheme;
    if (v['dial-timeout'] !== undefined)
        s.dialTimeoutMs = v['dial-timeout'];
    // A zero timeout means none, as it did in Caddy Mesh. The read and body timeouts have
    // defaults on HTTP ports, so their 0 goes into the table to turn the default off.
    if (v['read-timeout'] !== undefined)
        s.readTimeoutMs = v['read-timeout'];
    if (v['body-timeout'] !== undefined)
        s.bodyTimeoutMs = v['body-timeout'];
    if (v['write-timeout'])
        s.writeTimeoutMs = v['write-timeout'];
    if (v['request-timeout'])
        s.requestTimeoutMs = v['request-timeout'];
    if (v['load-balancer'] !== undefined)
        s.loadBalancer = v['load-balancer'];
    if (v['max-fails'] !== undefined)
        s.passiveHealth.maxFails = v['max-fails'];
    if (v['fail-duration'] !== undefined)
        s.passiveHealth.failDurationMs = v['fail-duration'];
    const count = v['retry-count'];
    const retryDuration = v['retry-duration'] || undefined;
    if ((count !== undefined && count.count > 0) || retryDuration !== undefined) {
        const afterSentDefault = count?.afterSent === false && retryDuration === undefined ? 'false' : 'true';
        s.retry = { on: v['retry-on'] ?? afterSentDefault, codes: v['retry-codes'] ?? [] };
        if (count !== undefined && count.count > 0)
            s.retry.count = count.count;
        if (retryDuration !== undefined)
            s.retry.durationMs = retryDuration;
    }
    else {
        for (const n of ['retry-on', 'retry-codes']) {
            if (v[n] !== undefined)
                ignored(n, 'has no effect without a retry count above 0 or a retry duration');
        }
    }
    const rate = v['rate-limit-rate'];
    if (rate !== undefined) {
        s.rateLimit = {
            ratePerSecond: rate.ratePerSecond,
            burst: v['rate-limit-burst'] ?? rate.perPeriod,
            key: v['rate-limit-key'] ?? DEFAULT_RATE_LIMIT_KEY,
            zoneSize: v['rate-limit-zone-size'] ?? DEFAULT_RATE_LIMIT_ZONE_SIZE,
        };
    }
    else {
        for (const n of ['rate-limit-burst', 'rate-limit-key', 'rate-limit-zone-size']) {
            if (v[n] !== undefined)
                ignored(n, 'has no effect without a rate (hostmesh.io/rate-limit-rate or an alias of it)');
        }
    }
    const expression = v['traffic-split-expression'];
    const newService = v['traffic-split-new-service'];
    const oldService = v['traffic-split-old-service'];
    const weights = v['traffic-split-weights'];
    if (weights !== undefined && (expression !== undefined || newService !== undefined || oldService !== undefined)) {
        error('traffic-split-weights', 'cannot be combined with traffic-split-expression/-new-service/-old-service; use one kind of split');
    }
    else if (weights !== undefined) {
        s.split = { kind: 'weights', weights };
    }
    else if (expression !== undefined && newService === undefined) {
        error('traffic-split-expression', 'needs traffic-split-new-service (the Service that matching requests go to)');
    }
    else if (expression === undefined && (newService !== undefined || oldService !== undefined)) {
        error(newService !== undefined ? 'traffic-split-new-service' : 'traffic-split-old-service', 'needs traffic-split-expression (which requests go to the new Service)');
    }
    else if (expression !== undefined && newService !== undefined) {
        s.split = { kind: 'expression', expression, newService };
        if (oldService !== undefined)
            s.split.oldService = oldService;
    }
    const mirrorService = v['mirror-service'];
    if (mirrorService !== undefined) {
        if (mirrorService === selfName)
            error('mirror-service', 'names the Service itself; a Service cannot mirror to itself');
        else
            s.mirror = { service: mirrorService, percent: v['mirror-percent'] ?? 100 };
    }
    else if (v['mirror-percent'] !== undefined) {
        error('mirror-percent', 'needs mirror-service (the Service that receives the copies)');
    }
    if (v['sticky-cookie'] !== undefined)
        s.stickyCookie = v['sticky-cookie'];
    if (v['circuit-breaker-expression'] !== undefined)
        s.circuitBreaker = v['circuit-breaker-expression'];
    if (v.maintenance !== undefined)
        s.maintenance = v.maintenance;
    for (const n of KEY_NAMES) {
        if (v[n] === undefined)
            continue;
        const httpOnly = KEYS[n].httpOnly === true ||
            (n === 'load-balancer' && (s.loadBalancer.kind === 'cookie' || s.loadBalancer.kind === 'header'));
        if (httpOnly)
            s.httpOnlyKeys.push(key(n));
    }
    return ok ? s : undefined;
}
