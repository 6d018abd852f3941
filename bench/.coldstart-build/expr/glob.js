/**
 * `*` wildcards, compiled once to the cheapest test that does the job. A star matches any run of
 * characters (none included); nothing else is special. Matching is linear: stars are matched
 * greedily left to right with indexOf, never by backtracking.
 */
export function compileGlob(pattern) {
    if (!pattern.includes('*'))
        return (s) => s === pattern;
    const parts = pattern.split('*');
    if (parts.every((p) => p === ''))
        return () => true;
    if (parts.length === 2) {
        const [head, tail] = parts;
        if (tail === '')
            return (s) => s.startsWith(head);
        if (head === '')
            return (s) => s.endsWith(tail);
    }
    if (parts.length === 3 && parts[0] === '' && parts[2] === '') {
        const middle = parts[1];
        return (s) => s.includes(middle);
    }
    return (s) => starMatch(parts, s);
}
/** `parts` is a pattern split on `*` (at least two parts). */
export function starMatch(parts, s) {
    const head = parts[0];
    const tail = parts[parts.length - 1];
    if (s.length < head.length + tail.length || !s.startsWith(head) || !s.endsWith(tail))
        return false;
    const limit = s.length - tail.length;
    let at = head.length;
    for (let i = 1; i < parts.length - 1; i++) {
        const part = parts[i];
        if (part === '')
            continue;
        const found = s.indexOf(part, at);
        if (found < 0 || found + part.length > limit)
            return false;
        at = found + part.length;
    }
    return true;
}
/**
 * A glob over `separator`-delimited segments where `*` stays inside one segment (host labels,
 * path segments in Caddy's globular form).
 */
export function compileSegmentGlob(pattern, separator) {
    const segments = pattern.split(separator).map((seg) => (seg.includes('*') ? seg.split('*') : seg));
    return (s) => {
        const pieces = s.split(separator);
        if (pieces.length !== segments.length)
            return false;
        for (let i = 0; i < segments.length; i++) {
            const seg = segments[i];
            const piece = pieces[i];
            if (typeof seg === 'string' ? piece !== seg : !starMatch(seg, piece))
                return false;
        }
        return true;
    };
}
