/** "Did you mean ...?" for misspelt names. */
/** The candidate closest to `name` (same letters ignoring case, or at most two edits), if any. */
export function suggest(name, candidates) {
    const lower = name.toLowerCase();
    const same = candidates.find((c) => c.toLowerCase() === lower);
    if (same)
        return same;
    let best;
    let bestDistance = 3;
    for (const c of candidates) {
        const d = editDistance(lower, c.toLowerCase(), bestDistance);
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return best;
}
/** Levenshtein distance, giving up (returning `limit`) once it must reach `limit`. */
function editDistance(a, b, limit) {
    if (Math.abs(a.length - b.length) >= limit)
        return limit;
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        let rowMin = i;
        for (let j = 1; j <= b.length; j++) {
            const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
            cur.push(v);
            rowMin = Math.min(rowMin, v);
        }
        if (rowMin >= limit)
            return limit;
        prev = cur;
    }
    return Math.min(prev[b.length], limit);
}
