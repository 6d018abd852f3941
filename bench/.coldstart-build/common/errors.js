export class HostmeshError extends Error {
    code;
    details;
    constructor(code, message, details, options) {
        super(message, options);
        this.name = 'HostmeshError';
        this.code = code;
        this.details = details;
    }
}
export function isHostmeshError(e, code) {
    return e instanceof HostmeshError && (code === undefined || e.code === code);
}
/** A message for any thrown value, for logs and one-line CLI errors. */
export function errorMessage(e) {
    if (e instanceof Error)
        return e.message;
    return String(e);
}
