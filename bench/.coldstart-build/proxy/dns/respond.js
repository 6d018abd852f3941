/**
 * One DNS message in, one out (or nothing): header checks, EDNS, the zone lookup, and UDP
 * truncation. Pure; the server only moves bytes. Malformed input never throws out of here:
 * no header means drop, a readable header means FORMERR.
 */
import dnsPacket from 'dns-packet';
import { answerQuestion } from './zone.js';
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS'];
const RCODE_VALUE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 };
/** Classic DNS over UDP: the most a response may hold without EDNS. */
export const UDP_CLASSIC_MAX = 512;
/** Largest UDP response we send even when a client advertises more (avoids IP fragmentation). */
export const UDP_MAX = 1232;
/** A TCP message carries a 2-byte length. */
export const TCP_MAX = 65535;
/** What our OPT record advertises as our own receive size. */
const OUR_UDP_PAYLOAD = UDP_MAX;
const HEADER = 12;
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const OPCODE_MASK = 0x7800;
/**
 * Reads the first question's name straight from the wire, so labels stay labels (dns-packet
 * joins them with dots, which would make `a.b` one label look like two). A query's first name
 * cannot be compressed: a pointer there is malformed.
 */
function readQuestion(buf) {
    const labels = [];
    let off = HEADER;
    let nameLength = 1;
    for (;;) {
        if (off >= buf.length)
            return undefined;
        const len = buf[off];
        if (len === 0)
            break;
        if (len > 63)
            return undefined;
        nameLength += len + 1;
        if (nameLength > 255 || off + 1 + len > buf.length)
            return undefined;
        labels.push(buf.toString('latin1', off + 1, off + 1 + len));
        off += len + 1;
    }
    off += 1;
    if (off + 4 > buf.length)
        return undefined;
    return { labels, end: off + 4 };
}
/** A reply that is only a header: for packets whose question cannot be trusted. */
function headerOnly(query, rcode) {
    const out = Buffer.alloc(HEADER);
    out.writeUInt16BE(query.readUInt16BE(0), 0);
    const flags = query.readUInt16BE(2);
    out.writeUInt16BE(FLAG_QR | (flags & OPCODE_MASK) | (flags & FLAG_RD) | RCODE_VALUE[rcode], 2);
    return { bytes: out, rcode, truncated: false };
}
function optRecord(rcode) {
    return {
        type: 'OPT',
        name: '.',
        udpPayloadSize: OUR_UDP_PAYLOAD,
        extendedRcode: RCODE_VALUE[rcode] >> 4,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
    };
}
/** Encodes with the question copied byte for byte from the query (case and all). */
function encode(query, q, flags, rcode, sections) {
    const body = dnsPacket.encode({
        type: 'response',
        id: query.readUInt16BE(0),
        flags: flags | (RCODE_VALUE[rcode] & 0xf),
        questions: [],
        ...sections,
    });
    const out = Buffer.allocUnsafe(body.length + q.end - HEADER);
    body.copy(out, 0, 0, HEADER);
    query.copy(out, HEADER, HEADER, q.end);
    body.copy(out, q.end, HEADER);
    out.writeUInt16BE(1, 4);
    return out;
}
/**
 * The reply to `query`, or undefined when it must be dropped (no header, or not a query).
 * With `udp` the reply fits 512 bytes, or the EDNS size the client advertised (capped at
 * UDP_MAX); a larger one is sent truncated (TC set, sections empty) so the client retries over
 * TCP. Over TCP the only limit is the 2-byte length prefix.
 */
export function respond(index, query, udp) {
    if (query.length < HEADER)
        return undefined;
    const flags = query.readUInt16BE(2);
    // A response sent to us is never answered: that is how reflection loops start.
    if ((flags & FLAG_QR) !== 0)
        return undefined;
    let packet;
    try {
        packet = dnsPacket.decode(query);
    }
    catch {
        return headerOnly(query, 'FORMERR');
    }
    const q = query.readUInt16BE(4) === 1 ? readQuestion(query) : undefined;
    const question = packet.questions?.[0];
    if (q === undefined || question === undefined)
        return headerOnly(query, 'FORMERR');
    const opts = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
    if (opts.length > 1)
        return headerOnly(query, 'FORMERR');
    const opt = opts[0];
    const limit = !udp ? TCP_MAX : opt === undefined ? UDP_CLASSIC_MAX : Math.min(UDP_MAX, Math.max(UDP_CLASSIC_MAX, opt.udpPayloadSize));
    const baseFlags = (flags & OPCODE_MASK) | (flags & FLAG_RD);
    const reply = (rcode, aa, answers = [], authorities = [], additionals = []) => {
        const extra = opt === undefined ? additionals : [...additionals, optRecord(rcode)];
        const f = baseFlags | (aa ? FLAG_AA : 0);
        let bytes;
        try {
            bytes = encode(query, q, f, rcode, { answers, authorities, additionals: extra });
        }
        catch {
            // Only bad data in the config can make encoding fail; the asker gets a clean SERVFAIL.
            const failed = 'SERVFAIL';
            return { bytes: encode(query, q, baseFlags, failed, { additionals: opt === undefined ? [] : [optRecord(failed)] }), rcode: failed, truncated: false };
        }
        if (bytes.length <= limit)
            return { bytes, rcode, truncated: false };
        const cut = encode(query, q, f | FLAG_TC, rcode, { additionals: opt === undefined ? [] : [optRecord(rcode)] });
        return { bytes: cut, rcode, truncated: true };
    };
    if ((flags & OPCODE_MASK) !== 0)
        return reply('NOTIMP', false);
    if (opt !== undefined && opt.ednsVersion !== 0)
        return reply('BADVERS', false);
    if (question.class !== 'IN' && question.class !== 'ANY')
        return reply('REFUSED', false);
    // Zone transfers are not offered: the data is per proxy and changes with every table.
    if (question.type === 'AXFR' || question.type === 'IXFR')
        return reply('REFUSED', false);
    const a = answerQuestion(index, q.labels, question.type);
    return reply(a.rcode, a.authoritative, a.answers, a.authorities, a.additionals);
}
