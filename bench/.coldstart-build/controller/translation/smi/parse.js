/**
 * SMI objects (untrusted JSON, from manifests or the API server) -> the model (model.ts), read
 * as the version each object declares:
 *
 * | kind | version | shape |
 * |---|---|---|
 * | TrafficSplit | v1alpha1 | `spec.service`, `spec.backends[].service/weight`, weight a quantity (`500m`) |
 * | TrafficSplit | v1alpha2 | weights whole numbers |
 * | TrafficSplit | v1alpha3, v1alpha4 | plus `spec.matches[]` naming HTTPRouteGroups |
 * | HTTPRouteGroup | v1alpha1, v1alpha2 | top-level `matches[]` (`name`, `pathRegex`, `methods`); v1alpha2 `headers` a list of one-entry maps |
 * | HTTPRouteGroup | v1alpha3, v1alpha4 | `spec.matches[]`, `headers` a map |
 * | TCPRoute | v1alpha1-v1alpha3 | no fields; v1alpha4 `spec.matches.ports` |
 * | UDPRoute | v1alpha4 | `spec.matches.ports` |
 * | TrafficTarget | v1alpha1 | top-level `destination` (with `port`), `specs[]`, `sources[]` |
 * | TrafficTarget | v1alpha2, v1alpha3 | `spec.destination`, `spec.rules[]`, `spec.sources[]` |
 *
 * A field found where another version keeps it (an API server serving several versions of a CRD
 * without conversion hands out stored objects under the version asked for) is read anyway, with
 * a note. A malformed part is a problem naming the field and the value; an object is refused
 * only when what is left would mean something else. Pure; never throws.
 */
import { parseQuantity } from './quantity.js';
import { SMI_VERSIONS } from './model.js';
const isRecord = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v) => {
    if (typeof v === 'string')
        return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v);
    if (v === undefined)
        return 'nothing';
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'a list';
    if (typeof v === 'object')
        return 'a map';
    return String(v);
};
const MAX_WEIGHT = 1_000_000;
const MAX_ITEMS = 1000;
class Problem extends Error {
}
/** Whether `apiVersion`/`kind` is an SMI kind this reads (in any version). */
export function isSmiKind(apiVersion, kind) {
    const spec = SMI_VERSIONS[kind];
    return spec !== undefined && Object.hasOwn(SMI_VERSIONS, kind) && apiVersion.startsWith(`${spec.group}/`);
}
/** Reads one SMI object; `fallbackNamespace` when metadata has none (manifests default it). */
export function parseSmiObject(value, fallbackNamespace = 'default') {
    try {
        if (!isRecord(value))
            throw new Problem('the object is not a map');
        const { apiVersion, kind } = value;
        if (typeof apiVersion !== 'string' || typeof kind !== 'string')
            throw new Problem('the object has no apiVersion and kind');
        const spec = Object.hasOwn(SMI_VERSIONS, kind) ? SMI_VERSIONS[kind] : undefined;
        if (spec === undefined || !apiVersion.startsWith(`${spec.group}/`))
            throw new Problem(`${apiVersion} ${kind} is not an SMI kind hostmesh reads`);
        const version = apiVersion.slice(spec.group.length + 1);
        if (!spec.versions.includes(version)) {
            throw new Problem(`${kind} ${version} is not a version hostmesh reads (it reads ${spec.versions.join(', ')})`);
        }
        const meta = value.metadata;
        if (!isRecord(meta) || typeof meta.name !== 'string' || meta.name === '')
            throw new Problem('metadata.name is missing');
        const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : fallbackNamespace;
        const base = { apiVersion, namespace, name: meta.name };
        const notes = [];
        const n = Number(version.slice('v1alpha'.length));
        let object;
        switch (kind) {
            case 'TrafficSplit':
                object = readSplit(value, base, n, notes);
                break;
            case 'HTTPRouteGroup':
                object = readRouteGroup(value, base, n, notes);
                break;
            case 'TCPRoute':
                object = readPortRoute(value, base, 'TCPRoute', n, notes);
                break;
            case 'UDPRoute':
                object = readPortRoute(value, base, 'UDPRoute', n, notes);
                break;
            case 'TrafficTarget':
                object = readTarget(value, base, n, notes);
                break;
        }
        return { ok: true, object, notes };
    }
    catch (e) {
        if (e instanceof Problem)
            return { ok: false, problem: e.message };
        return { ok: false, problem: `cannot be read: ${e instanceof Error ? e.message : String(e)}` };
    }
}
function list(v, field) {
    if (v === undefined || v === null)
        return [];
    if (!Array.isArray(v))
        throw new Problem(`${field} must be a list, got ${show(v)}`);
    if (v.length > MAX_ITEMS)
        throw new Problem(`${field} has ${v.length} entries, more than ${MAX_ITEMS}`);
    return v;
}
function name(v, field) {
    if (typeof v !== 'string' || v === '')
        throw new Problem(`${field} must be a non-empty string, got ${show(v)}`);
    return v;
}
function optionalName(v, field) {
    return v === undefined || v === null || v === '' ? undefined : name(v, field);
}
/** `spec` as a map (absent: empty). */
function specOf(value) {
    if (value.spec === undefined || value.spec === null)
        return {};
    if (!isRecord(value.spec))
        throw new Problem(`spec must be a map, got ${show(value.spec)}`);
    return value.spec;
}
function readSplit(value, base, version, notes) {
    const spec = specOf(value);
    const service = rootServiceName(name(spec.service, 'spec.service'), base.namespace, notes);
    const raw = [];
    list(spec.backends, 'spec.backends').forEach((b, i) => {
        const at = `spec.backends[${i}]`;
        if (!isRecord(b))
            throw new Problem(`${at} must be a map, got ${show(b)}`);
        const svc = name(b.service, `${at}.service`);
        raw.push({ service: svc, weight: version === 1 ? quantityWeight(b.weight, `${at}.weight`) : wholeWeight(b.weight, `${at}.weight`) });
    });
    if (raw.length === 0)
        throw new Problem('spec.backends lists no backend');
    const matches = [];
    list(spec.matches, 'spec.matches').forEach((m, i) => {
        const at = `spec.matches[${i}]`;
        if (!isRecord(m))
            throw new Problem(`${at} must be a map, got ${show(m)}`);
        matches.push({ kind: typeof m.kind === 'string' && m.kind !== '' ? m.kind : 'HTTPRouteGroup', name: name(m.name, `${at}.name`) });
    });
    if (matches.length > 0 && version < 3) {
        notes.push(`spec.matches is a field of v1alpha3 and later, read although the object says ${base.apiVersion}`);
    }
    return { kind: 'TrafficSplit', ...base, service, backends: scaleWeights(raw, version === 1), matches };
}
/** `name`, or `name.<namespace>[.svc[.<domain>]]` cut to `name` (the spec calls it an FQDN). */
function rootServiceName(v, namespace, notes) {
    const dot = v.indexOf('.');
    if (dot < 0)
        return v;
    const rest = v.slice(dot + 1).split('.');
    if (rest[0] !== namespace)
        throw new Problem(`spec.service ${show(v)} names a Service outside the TrafficSplit's namespace ${namespace}`);
    notes.push(`spec.service ${show(v)} is read as the Service ${v.slice(0, dot)}`);
    return v.slice(0, dot);
}
function wholeWeight(v, field) {
    // Hand-written manifests sometimes quote numbers; the API server would have refused them.
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
        throw new Problem(`${field} must be a whole number of at least 0, got ${show(v)}`);
    return n;
}
/** v1alpha1: a quantity, in thousandths (`500m` -> 500, `1` -> 1000). */
function quantityWeight(v, field) {
    const q = typeof v === 'number' ? v : typeof v === 'string' ? parseQuantity(v) : undefined;
    if (q === undefined || !Number.isFinite(q) || q < 0)
        throw new Problem(`${field} must be a quantity of at least 0 (e.g. 500m or 1), got ${show(v)}`);
    return q * 1000;
}
/** Whole numbers the table accepts, in the same ratios: divided by their common divisor, scaled below the cap. */
function scaleWeights(backends, fractional) {
    let weights = backends.map((b) => (fractional ? Math.round(b.weight) : b.weight));
    if (fractional) {
        // A positive quantity too small for a thousandth keeps a share.
        weights = weights.map((w, i) => (w === 0 && backends[i].weight > 0 ? 1 : w));
    }
    // Thousandths of quantities are divided by their common divisor (500m, 1500m -> 1, 3); whole
    // weights stay as written.
    const divisor = fractional ? weights.reduce((g, w) => gcd(g, w), 0) : 1;
    if (divisor > 1)
        weights = weights.map((w) => w / divisor);
    const max = Math.max(...weights);
    if (max > MAX_WEIGHT)
        weights = weights.map((w) => (w === 0 ? 0 : Math.max(1, Math.round((w / max) * MAX_WEIGHT))));
    return backends.map((b, i) => ({ service: b.service, weight: weights[i] }));
}
function gcd(a, b) {
    let x = a;
    let y = b;
    while (y > 0)
        [x, y] = [y, x % y];
    return x;
}
function readRouteGroup(value, base, version, notes) {
    const spec = specOf(value);
    const topLevel = version <= 2;
    let field = topLevel ? 'matches' : 'spec.matches';
    let raw = topLevel ? value.matches : spec.matches;
    const other = topLevel ? spec.matches : value.matches;
    if ((raw === undefined || raw === null) && other !== undefined && other !== null) {
        notes.push(`matches found ${topLevel ? 'under spec, where v1alpha3 and later keep them' : 'at the top level, where v1alpha1 and v1alpha2 keep them'}; read anyway`);
        raw = other;
        field = topLevel ? 'spec.matches' : 'matches';
    }
    const seen = new Set();
    const matches = list(raw, field).map((m, i) => {
        const at = `${field}[${i}]`;
        if (!isRecord(m))
            throw new Problem(`${at} must be a map, got ${show(m)}`);
        const match = { name: name(m.name, `${at}.name`) };
        if (seen.has(match.name))
            throw new Problem(`${at}.name ${show(match.name)} is used by an earlier match (names are the key)`);
        seen.add(match.name);
        const path = optionalName(m.pathRegex, `${at}.pathRegex`);
        if (path !== undefined)
            match.pathRegex = path;
        if (m.methods !== undefined && m.methods !== null) {
            const methods = list(m.methods, `${at}.methods`).map((x, k) => name(x, `${at}.methods[${k}]`));
            if (methods.length > 0)
                match.methods = methods;
        }
        const headers = readHeaders(m.headers, `${at}.headers`);
        if (headers.length > 0)
            match.headers = headers;
        return match;
    });
    return { kind: 'HTTPRouteGroup', ...base, matches };
}
/** A map of name -> regex (v1alpha3+), or a list of one-entry maps (v1alpha2); both read. */
function readHeaders(v, field) {
    if (v === undefined || v === null)
        return [];
    const entries = [];
    if (Array.isArray(v)) {
        list(v, field).forEach((item, i) => {
            if (!isRecord(item))
                throw new Problem(`${field}[${i}] must be a map of header name to regular expression, got ${show(item)}`);
            entries.push(...Object.entries(item));
        });
    }
    else if (isRecord(v))
        entries.push(...Object.entries(v));
    else
        throw new Problem(`${field} must be a map of header name to regular expression, got ${show(v)}`);
    return entries.map(([k, regex]) => {
        if (k === '')
            throw new Problem(`${field} has an empty header name`);
        if (typeof regex !== 'string')
            throw new Problem(`${field}.${k} must be a string (a regular expression), got ${show(regex)}`);
        return { name: k.toLowerCase(), regex };
    });
}
function readPortRoute(value, base, kind, version, notes) {
    const route = { kind, ...base };
    const spec = specOf(value);
    const matches = spec.matches;
    if (matches === undefined || matches === null)
        return route;
    if (!isRecord(matches))
        throw new Problem(`spec.matches must be a map, got ${show(matches)}`);
    const ports = list(matches.ports, 'spec.matches.ports').map((p, i) => {
        if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535)
            throw new Problem(`spec.matches.ports[${i}] must be a port number, got ${show(p)}`);
        return p;
    });
    if (version < 4 && ports.length > 0)
        notes.push(`spec.matches.ports is a field of v1alpha4, read although the object says ${base.apiVersion}`);
    if (ports.length > 0)
        route.ports = [...new Set(ports)].toSorted((a, b) => a - b);
    return route;
}
function readTarget(value, base, version, notes) {
    const topLevel = version === 1;
    const spec = specOf(value);
    let body = topLevel ? value : spec;
    if (body.destination === undefined) {
        const other = topLevel ? spec : value;
        if (other.destination !== undefined) {
            notes.push(`destination found ${topLevel ? 'under spec, where v1alpha2 and later keep it' : 'at the top level, where v1alpha1 keeps it'}; read anyway`);
            body = other;
        }
    }
    const prefix = body === spec ? 'spec.' : '';
    const d = body.destination;
    if (!isRecord(d))
        throw new Problem(`${prefix}destination must be a map, got ${show(d)}`);
    const destination = identity(d, `${prefix}destination`, base.namespace);
    if (d.port !== undefined && d.port !== null && d.port !== '') {
        const port = typeof d.port === 'string' && /^\d+$/.test(d.port) ? Number(d.port) : d.port;
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
            throw new Problem(`${prefix}destination.port must be a port number, got ${show(d.port)}`);
        destination.port = port;
    }
    let rulesField = body === value && topLevel ? 'specs' : 'rules';
    let rawRules = body[rulesField];
    if ((rawRules === undefined || rawRules === null) && body[rulesField === 'specs' ? 'rules' : 'specs'] !== undefined) {
        const wanted = rulesField;
        rulesField = rulesField === 'specs' ? 'rules' : 'specs';
        rawRules = body[rulesField];
        notes.push(`${prefix}${rulesField} read where ${base.apiVersion} has ${prefix}${wanted}`);
    }
    const rules = list(rawRules, `${prefix}${rulesField}`).map((r, i) => {
        const at = `${prefix}${rulesField}[${i}]`;
        if (!isRecord(r))
            throw new Problem(`${at} must be a map, got ${show(r)}`);
        const rule = { kind: name(r.kind, `${at}.kind`), name: name(r.name, `${at}.name`) };
        if (r.matches !== undefined && r.matches !== null) {
            const names = list(r.matches, `${at}.matches`).map((x, k) => name(x, `${at}.matches[${k}]`));
            if (names.length > 0)
                rule.matches = names;
        }
        return rule;
    });
    const sources = list(body.sources, `${prefix}sources`).map((s, i) => {
        if (!isRecord(s))
            throw new Problem(`${prefix}sources[${i}] must be a map, got ${show(s)}`);
        return identity(s, `${prefix}sources[${i}]`, base.namespace);
    });
    return { kind: 'TrafficTarget', ...base, destination, rules, sources };
}
function identity(v, field, namespace) {
    const kind = v.kind ?? 'ServiceAccount';
    if (kind !== 'ServiceAccount')
        throw new Problem(`${field}.kind must be ServiceAccount, got ${show(kind)} (IdentityBinding is not supported)`);
    return { namespace: optionalName(v.namespace, `${field}.namespace`) ?? namespace, serviceAccount: name(v.name, `${field}.name`) };
}
