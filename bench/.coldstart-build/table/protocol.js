export const WATCH_PATH = '/v1/watch';
export const ACK_PATH = '/v1/ack';
export const STATUS_PATH = '/v1/status';
export const NDJSON = 'application/x-ndjson';
/** `since` query value. */
export function formatSince(epoch, version) {
    return `${epoch}:${version}`;
}
export function parseSince(value) {
    if (!value)
        return undefined;
    const i = value.lastIndexOf(':');
    if (i <= 0)
        return undefined;
    const version = Number(value.slice(i + 1));
    if (!Number.isSafeInteger(version) || version < 0)
        return undefined;
    return { epoch: value.slice(0, i), version };
}
