/**
 * Kubernetes resource quantities (`500m`, `1`, `1.5k`, `2Ki`, `1e3`), as TrafficSplit
 * v1alpha1 writes backend weights. Pure; never throws.
 */
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;
/** Multipliers; the fractional ones (n, u, m) are divisors, which keeps `5m` exactly 5 / 1000. */
const DIVISOR = { n: 1e9, u: 1e6, m: 1e3 };
const SUFFIX = {
    k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
/** The quantity's value, or undefined when `text` is not a quantity (or not finite). */
export function parseQuantity(text) {
    const m = QUANTITY.exec(text.trim());
    if (!m)
        return undefined;
    let value = Number(m[2]);
    const suffix = m[3];
    if (suffix !== undefined)
        value = Object.hasOwn(DIVISOR, suffix) ? value / DIVISOR[suffix] : value * SUFFIX[suffix];
    else if (m[4] !== undefined) {
        const e = Number(m[4]);
        value = e < 0 ? value / 10 ** -e : value * 10 ** e;
    }
    if (m[1] === '-')
        value = -value;
    return Number.isFinite(value) ? value : undefined;
}
