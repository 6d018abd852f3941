/** Diagnostics: what translation and the sources report, and helpers to build and order them. */
export function serviceObject(namespace, name) {
    return { kind: 'Service', namespace, name };
}
export function diagnostic(severity, code, object, message, extra = {}) {
    const d = { severity, code, object, message };
    if (extra.key !== undefined)
        d.key = extra.key;
    if (extra.value !== undefined)
        d.value = extra.value;
    if (extra.line !== undefined)
        d.line = extra.line;
    return d;
}
/** A value as it appears in messages: JSON-quoted, long values cut. */
export function quote(value) {
    return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}...` : value);
}
/** `namespace/name`, or the file path. */
export function objectLabel(o) {
    return o.namespace === undefined ? o.name : `${o.namespace}/${o.name}`;
}
const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 };
/** Stable order: by object, then line, severity, key, code and message. */
export function sortDiagnostics(list) {
    return list.toSorted((a, b) => cmp(a.object.namespace ?? '', b.object.namespace ?? '') ||
        cmp(a.object.name, b.object.name) ||
        cmp(a.object.kind, b.object.kind) ||
        (a.line ?? 0) - (b.line ?? 0) ||
        SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
        cmp(a.key ?? '', b.key ?? '') ||
        cmp(a.code, b.code) ||
        cmp(a.message, b.message));
}
export function cmp(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
}
