/**
 * IPv4/IPv6 addresses and CIDR ranges. Ranges are parsed once; a request's address is parsed
 * with char loops into numbers (IPv6 into a shared scratch array), without allocating.
 */
/** Caddy's `private_ranges` shortcut. */
export const PRIVATE_RANGES = ['192.168.0.0/16', '172.16.0.0/12', '10.0.0.0/8', '127.0.0.1/8', 'fd00::/8', '::1'];
/** Dotted-quad in s[start, end) as an unsigned 32-bit number, or -1. No leading zeros. */
export function parseIPv4(s, start = 0, end = s.length) {
    let value = 0;
    let part = 0;
    let digits = 0;
    let dots = 0;
    for (let i = start; i < end; i++) {
        const c = s.charCodeAt(i);
        if (c >= 48 && c <= 57) {
            if (digits === 1 && part === 0)
                return -1;
            part = part * 10 + (c - 48);
            if (part > 255)
                return -1;
            digits++;
        }
        else if (c === 46 /* . */) {
            if (digits === 0 || ++dots > 3)
                return -1;
            value = value * 256 + part;
            part = 0;
            digits = 0;
        }
        else {
            return -1;
        }
    }
    if (digits === 0 || dots !== 3)
        return -1;
    return value * 256 + part;
}
function hexValue(c) {
    if (c >= 48 && c <= 57)
        return c - 48;
    if (c >= 97 && c <= 102)
        return c - 87;
    if (c >= 65 && c <= 70)
        return c - 55;
    return -1;
}
/**
 * IPv6 text (RFC 4291 forms: `::` compression, trailing dotted quad, `%zone` ignored) into eight
 * 16-bit groups. Returns false when `s` is not an IPv6 address.
 */
export function parseIPv6(s, out) {
    let end = s.indexOf('%');
    if (end < 0)
        end = s.length;
    let n = 0;
    let gap = -1;
    let i = 0;
    if (end >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
        gap = 0;
        i = 2;
    }
    else if (s.charCodeAt(0) === 58) {
        return false;
    }
    while (i < end) {
        if (n === 8)
            return false;
        let value = 0;
        let j = i;
        for (; j < end; j++) {
            const h = hexValue(s.charCodeAt(j));
            if (h < 0)
                break;
            value = value * 16 + h;
        }
        if (j < end && s.charCodeAt(j) === 46 /* . */) {
            const v4 = n <= 6 ? parseIPv4(s, i, end) : -1;
            if (v4 < 0)
                return false;
            out[n++] = Math.floor(v4 / 65536);
            out[n++] = v4 % 65536;
            i = end;
            break;
        }
        if (j === i || j - i > 4)
            return false;
        out[n++] = value;
        i = j;
        if (i === end)
            break;
        if (s.charCodeAt(i) !== 58 /* : */)
            return false;
        i++;
        if (i < end && s.charCodeAt(i) === 58) {
            if (gap >= 0)
                return false;
            gap = n;
            i++;
        }
        else if (i === end) {
            return false;
        }
    }
    if (gap < 0)
        return n === 8;
    if (n === 8)
        return false;
    const tail = n - gap;
    for (let k = 0; k < tail; k++)
        out[7 - k] = out[n - 1 - k];
    for (let k = gap; k < 8 - tail; k++)
        out[k] = 0;
    return true;
}
/** True when the groups hold an IPv4-mapped address (::ffff:a.b.c.d). */
function isV4Mapped(g) {
    return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}
function v4Mask(bits) {
    return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}
/** Parses `a.b.c.d`, `a.b.c.d/n`, IPv6 and IPv6/n into a range, or returns an error text. */
export function parseRange(text) {
    const slash = text.indexOf('/');
    const addr = slash < 0 ? text : text.slice(0, slash);
    let bits;
    if (slash >= 0) {
        const b = text.slice(slash + 1);
        if (!/^(?:0|[1-9]\d{0,2})$/.test(b))
            return `the prefix length ${JSON.stringify(b)} is not a number`;
        bits = Number(b);
    }
    const v4 = parseIPv4(addr);
    if (v4 >= 0) {
        const n = bits ?? 32;
        if (n > 32)
            return `an IPv4 prefix length is at most 32, found ${n}`;
        const mask = v4Mask(n);
        return { net: (v4 & mask) >>> 0, mask };
    }
    const groups = new Uint16Array(8);
    if (!parseIPv6(addr, groups))
        return 'expected an IPv4 or IPv6 address or a CIDR range such as 10.0.0.0/8 or fd00::/8';
    const n = bits ?? 128;
    if (n > 128)
        return `an IPv6 prefix length is at most 128, found ${n}`;
    if (isV4Mapped(groups) && n >= 96) {
        const mask = v4Mask(n - 96);
        return { net: ((groups[6] * 65536 + groups[7]) & mask) >>> 0, mask };
    }
    maskGroups(groups, n);
    return { groups, bits: n };
}
function maskGroups(g, bits) {
    for (let i = 0; i < 8; i++) {
        const keep = Math.min(16, Math.max(0, bits - i * 16));
        g[i] = keep === 0 ? 0 : g[i] & ((0xffff << (16 - keep)) & 0xffff);
    }
}
const scratch = new Uint16Array(8);
/** Whether `address` lies in one of the ranges. */
export function inRanges(address, ranges) {
    if (!address.includes(':')) {
        const ip = parseIPv4(address);
        if (ip < 0)
            return false;
        for (const r of ranges.v4)
            if (((ip & r.mask) >>> 0) === r.net)
                return true;
        return false;
    }
    if (!parseIPv6(address, scratch))
        return false;
    if (isV4Mapped(scratch)) {
        const ip = scratch[6] * 65536 + scratch[7];
        for (const r of ranges.v4)
            if (((ip & r.mask) >>> 0) === r.net)
                return true;
        return false;
    }
    for (const r of ranges.v6)
        if (inV6(scratch, r))
            return true;
    return false;
}
function inV6(g, r) {
    for (let i = 0; i < 8; i++) {
        const keep = Math.min(16, Math.max(0, r.bits - i * 16));
        if (keep === 0)
            return true;
        const mask = (0xffff << (16 - keep)) & 0xffff;
        if ((g[i] & mask) !== r.groups[i])
            return false;
    }
    return true;
}
/** A test specialised for the ranges: one IPv4 range (the common case) is a mask and compare. */
export function compileRanges(ranges) {
    if (ranges.v6.length === 0 && ranges.v4.length === 1) {
        const { net, mask } = ranges.v4[0];
        return (address) => {
            const ip = parseIPv4(address);
            if (ip >= 0)
                return ((ip & mask) >>> 0) === net;
            // Not dotted-quad: an IPv4-mapped IPv6 address may still be in range.
            return address.includes(':') && inRanges(address, ranges);
        };
    }
    return (address) => inRanges(address, ranges);
}
