/** Neither resting nor excluded. */
export function usable(ep, ctx) {
    if (ep.restUntil !== 0 && ep.restUntil > ctx.now())
        return false;
    return ctx.exclude === undefined || !ctx.exclude.has(ep);
}
/**
 * The choice when no endpoint is usable: resting endpoints are used anyway rather than failing
 * the request (least loaded first), then excluded ones.
 */
export function fallback(eps, ctx) {
    let best;
    let bestExcluded;
    for (const ep of eps) {
        if (ctx.exclude !== undefined && ctx.exclude.has(ep)) {
            if (bestExcluded === undefined || ep.inFlight < bestExcluded.inFlight)
                bestExcluded = ep;
        }
        else if (best === undefined || ep.inFlight < best.inFlight) {
            best = ep;
        }
    }
    return best ?? bestExcluded;
}
/** First usable endpoint scanning from `start`, wrapping around. */
export function scanFrom(eps, start, ctx) {
    const n = eps.length;
    for (let k = 0; k < n; k++) {
        const ep = eps[(start + k) % n];
        if (usable(ep, ctx))
            return ep;
    }
    return undefined;
}
export function randomIndex(n) {
    return Math.floor(Math.random() * n);
}
