/**
 * The Corefile side of the DNS patch: an outline of a Corefile (server blocks, their plugins,
 * top-level imports), the hostmesh server blocks between marker comments, and adding or removing
 * them so that the rest of the file stays byte for byte what it was. The block uses only
 * `errors`, `cache` and `forward`, which every CoreDNS since 1.3 understands the same way
 * (no `upstream`, no `rewrite`).
 */
import { HostmeshError } from '../../common/errors.js';
export const BEGIN_MARKER = '# hostmesh begin (managed by hostmesh; removed by `hostmesh cleanup`)';
export const END_MARKER = '# hostmesh end';
/** Caddyfile tokens, one array per logical line; comments dropped, quotes removed. */
function tokenLines(text) {
    const lines = [];
    let current = [];
    let line = 1;
    let i = 0;
    const flush = () => {
        if (current.length > 0)
            lines.push(current);
        current = [];
    };
    while (i < text.length) {
        const c = text[i];
        if (c === '\n') {
            flush();
            line++;
            i++;
        }
        else if (c === ' ' || c === '\t' || c === '\r') {
            i++;
        }
        else if (c === '#') {
            while (i < text.length && text[i] !== '\n')
                i++;
        }
        else if (c === '"' || c === '`') {
            const startLine = line;
            let word = '';
            i++;
            while (i < text.length && text[i] !== c) {
                if (c === '"' && text[i] === '\\' && i + 1 < text.length)
                    i++;
                if (text[i] === '\n')
                    line++;
                word += text[i];
                i++;
            }
            i++;
            current.push({ text: word, line: startLine });
        }
        else {
            let word = '';
            while (i < text.length && !/\s/.test(text[i])) {
                word += text[i];
                i++;
            }
            current.push({ text: word, line });
        }
    }
    flush();
    return lines;
}
export function outlineCorefile(text, where = 'the Corefile') {
    const outline = { servers: [], imports: [] };
    const unparsable = (line, why) => new HostmeshError('DNS_COREFILE_UNPARSABLE', `cannot read ${where}: ${why} on line ${line}`, { line });
    let depth = 0;
    let server;
    for (const tokens of tokenLines(text)) {
        let rest = tokens;
        if (depth === 0) {
            const open = tokens.findIndex((t) => t.text === '{');
            if (open === 0)
                throw unparsable(tokens[0].line, 'a block without keys');
            if (open < 0) {
                if (tokens.some((t) => t.text === '}'))
                    throw unparsable(tokens[0].line, 'an unbalanced "}"');
                if (tokens[0].text === 'import' && tokens[1])
                    outline.imports.push(tokens[1].text);
                continue;
            }
            const keys = tokens.slice(0, open).map((t) => t.text);
            // `(name) { ... }` defines a snippet, not a server.
            server = keys[0].startsWith('(') ? undefined : { keys, plugins: [], line: tokens[0].line };
            if (server)
                outline.servers.push(server);
            depth = 1;
            rest = tokens.slice(open + 1);
        }
        let startOfDirective = true;
        for (const t of rest) {
            if (t.text === '{' || t.text === '}') {
                depth += t.text === '{' ? 1 : -1;
                if (depth < 0)
                    throw unparsable(t.line, 'an unbalanced "}"');
                if (depth === 0)
                    server = undefined;
                startOfDirective = true;
                continue;
            }
            if (startOfDirective && depth === 1 && server)
                server.plugins.push(t.text);
            startOfDirective = false;
        }
    }
    if (depth !== 0)
        throw new HostmeshError('DNS_COREFILE_UNPARSABLE', `cannot read ${where}: a block is not closed`);
    return outline;
}
/** `dns://hostmesh.:53` -> zone `hostmesh`, port 53; a key without a port has none. */
export function parseServerKey(key) {
    const bare = key.replace(/^[a-z]+:\/\//i, '');
    const m = /^(.*?):(\d+)$/.exec(bare);
    const host = (m ? m[1] : bare).toLowerCase();
    const zone = host === '.' ? '.' : host.replace(/\.$/, '');
    return m ? { zone, port: Number(m[2]) } : { zone };
}
/** The port the cluster's main (`.`) server listens on: the port the mesh blocks must use too. */
export function rootPort(outline) {
    for (const s of outline.servers) {
        for (const key of s.keys) {
            const k = parseServerKey(key);
            if (k.zone === '.')
                return k.port ?? 53;
        }
    }
    return 53;
}
export function hasPlugin(outline, plugin) {
    return outline.servers.some((s) => s.plugins.includes(plugin));
}
/** The server blocks for the mesh zones, without markers. */
export function renderServerBlocks(target, port) {
    return target.zones.flatMap((zone) => [
        `${zone}:${port} {`,
        '    errors',
        '    cache 5',
        `    forward . ${target.addresses.join(' ')}`,
        '}',
    ]);
}
export function renderManagedRegion(target, port) {
    return [BEGIN_MARKER, ...renderServerBlocks(target, port), END_MARKER];
}
/**
 * Fails when a server block outside the markers already serves one of the mesh zones on the
 * same port: CoreDNS refuses to start with a zone defined twice.
 */
export function checkZoneConflicts(outline, target, port, where) {
    for (const s of outline.servers) {
        for (const key of s.keys) {
            const k = parseServerKey(key);
            if (target.zones.includes(k.zone) && (k.port ?? 53) === port) {
                throw new HostmeshError('DNS_ZONE_CONFLICT', `${where} already has a server block for zone ${k.zone} on port ${port} (line ${s.line}, key "${key}"); hostmesh will not add a second one. Remove it, or serve the mesh under another zone`, { zone: k.zone, line: s.line });
            }
        }
    }
}
function findRegions(text, where) {
    const regions = [];
    let open;
    let lineStart = 0;
    let lineNo = 1;
    while (lineStart <= text.length) {
        const nl = text.indexOf('\n', lineStart);
        const lineEnd = nl < 0 ? text.length : nl + 1;
        const trimmed = text.slice(lineStart, nl < 0 ? text.length : nl).trim();
        if (trimmed.startsWith('# hostmesh begin')) {
            if (open !== undefined)
                throw new HostmeshError('DNS_MARKERS_UNBALANCED', `${where} has a second "# hostmesh begin" before "# hostmesh end" (line ${lineNo})`, { line: lineNo });
            open = lineStart;
        }
        else if (trimmed === END_MARKER) {
            if (open === undefined)
                throw new HostmeshError('DNS_MARKERS_UNBALANCED', `${where} has "# hostmesh end" without "# hostmesh begin" (line ${lineNo})`, { line: lineNo });
            regions.push({ start: open, end: lineEnd });
            open = undefined;
        }
        if (nl < 0)
            break;
        lineStart = lineEnd;
        lineNo++;
    }
    if (open !== undefined)
        throw new HostmeshError('DNS_MARKERS_UNBALANCED', `${where} has "# hostmesh begin" without "# hostmesh end"`);
    return regions;
}
/**
 * Cuts the regions out. A region that ends the file without a final line break was appended
 * after one that this removes too, so patch then unpatch gives back the exact original.
 */
function removeRegions(text, regions) {
    let out = '';
    let from = 0;
    for (const r of regions) {
        let start = r.start;
        if (r.end === text.length && !text.endsWith('\n') && start > 0 && text[start - 1] === '\n') {
            start -= text[start - 2] === '\r' ? 2 : 1;
        }
        out += text.slice(from, Math.max(from, start));
        from = r.end;
    }
    return out + text.slice(from);
}
/**
 * Adds (or replaces, in place) the hostmesh blocks between the markers; several marker regions
 * collapse into one. Already patched the same way: unchanged. The port is the main server's.
 */
export function patchCorefile(text, target, where = 'the Corefile') {
    const regions = findRegions(text, where);
    const rest = removeRegions(text, regions);
    const outline = outlineCorefile(rest, where);
    const port = rootPort(outline);
    checkZoneConflicts(outline, target, port, where);
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const block = renderManagedRegion(target, port).join(eol);
    let out;
    if (regions.length === 0) {
        if (text === '')
            out = block + eol;
        else if (text.endsWith('\n'))
            out = text + block + eol;
        else
            out = text + eol + block;
    }
    else {
        const first = regions[0];
        const tail = text.slice(first.end);
        const later = regions.slice(1).map((r) => ({ start: r.start - first.end, end: r.end - first.end }));
        out = text.slice(0, first.start) + block + (text[first.end - 1] === '\n' ? eol : '') + removeRegions(tail, later);
    }
    return { text: out, changed: out !== text };
}
/** Removes every hostmesh region; the rest of the file is left byte for byte. */
export function unpatchCorefile(text, where = 'the Corefile') {
    const out = removeRegions(text, findRegions(text, where));
    return { text: out, changed: out !== text };
}
export function hasManagedRegion(text, where = 'the Corefile') {
    return findRegions(text, where).length > 0;
}
