/**
 * What `hostmesh check` prints, as pure functions: diagnostics (with a caret under the column
 * of an expression error), the controller's proxies, and which of those count as problems.
 */
import { checkExpression, formatExprError } from '../expr/index.js';
/** The expression context of an annotation key, by its name after the prefix (every alias spells it the same). */
function expressionContext(key) {
    const name = key.slice(key.indexOf('/') + 1);
    if (name === 'circuit-breaker-expression')
        return 'breaker';
    if (name === 'rate-limit-key')
        return 'key';
    return 'matcher';
}
function objectName(d) {
    if (d.object.kind === 'File')
        return `${d.object.name}${d.line === undefined ? '' : `:${d.line}`}`;
    return `${d.object.kind} ${d.object.namespace === undefined ? '' : `${d.object.namespace}/`}${d.object.name}`;
}
/** `severity code object [key]`, the message, and for an expression the source line with a caret. */
export function formatDiagnostic(d) {
    const lines = [`${d.severity} ${d.code}: ${objectName(d)}${d.key === undefined ? '' : ` ${d.key}`}`, `  ${d.message}`];
    if (d.code === 'annotation-invalid-expression' && d.key !== undefined && d.value !== undefined) {
        const e = checkExpression(d.value, expressionContext(d.key));
        // The first line repeats what the message says; the source and the caret are what it adds.
        if (e)
            for (const l of formatExprError(e).split('\n').slice(1))
                lines.push(`  ${l}`);
    }
    return lines;
}
export function countDiagnostics(ds) {
    const c = { errors: 0, warnings: 0, infos: 0 };
    for (const d of ds) {
        if (d.severity === 'error')
            c.errors++;
        else if (d.severity === 'warning')
            c.warnings++;
        else
            c.infos++;
    }
    return c;
}
function plural(n, word) {
    return `${n} ${word}${n === 1 ? '' : 's'}`;
}
export function formatCounts(c) {
    return `${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')}`;
}
/** Why a proxy needs attention, or undefined when it serves the current table. */
export function proxyProblem(p) {
    if (p.error !== undefined)
        return 'refused a table';
    if (!p.connected)
        return 'disconnected';
    if (p.lagVersions === undefined)
        return 'has applied nothing yet';
    if (p.lagVersions > 0)
        return 'lags';
    return undefined;
}
function table(rows) {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd());
}
function lag(p) {
    if (p.lagVersions === undefined)
        return '-';
    return p.lagVersions === 0 ? '0' : `${p.lagVersions} (${(p.lagMs / 1000).toFixed(1)} s)`;
}
function proxies(n) {
    return n === 1 ? '1 proxy' : `${n} proxies`;
}
/** The controller's status as text; `problems` lists what needs attention (exit 1 when any). */
export function formatStatus(url, s) {
    const lines = [`controller ${url}: epoch ${s.epoch || '-'}, version ${s.version}, ${proxies(s.proxies.length)}`];
    const problems = [];
    if (s.version === 0)
        problems.push('the controller has published no table yet (is it still listing the cluster?)');
    if (s.proxies.length === 0) {
        lines.push('no proxy has connected to this controller');
        problems.push('no proxy has connected');
    }
    else {
        const rows = [['NODE', 'CONNECTED', 'APPLIED', 'LAG', 'STATE', 'LAST ERROR']];
        for (const p of s.proxies) {
            const problem = proxyProblem(p);
            if (problem)
                problems.push(`proxy ${p.node} ${problem}`);
            const applied = p.appliedVersion === undefined ? '-' : p.appliedEpoch === s.epoch ? String(p.appliedVersion) : `${p.appliedVersion} (epoch ${p.appliedEpoch})`;
            rows.push([p.node, p.connected ? 'yes' : 'no', applied, lag(p), problem ?? 'ok', p.error ?? '']);
        }
        lines.push(...table(rows));
    }
    for (const d of s.diagnostics)
        lines.push(...formatDiagnostic(d));
    const counts = countDiagnostics(s.diagnostics);
    if (counts.errors + counts.warnings > 0)
        problems.push(formatCounts(counts));
    lines.push(problems.length === 0
        ? `ok: every proxy serves version ${s.version}; no configuration problems`
        : `needs attention: ${problems.join('; ')}`);
    return { lines, problems };
}
