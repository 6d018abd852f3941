/** Reading the bearer token file shared by the controller, the proxies and `check`. */
import { readFileSync } from 'node:fs';
import { errorMessage, HostmeshError } from '../common/errors.js';
export function readToken(path) {
    if (path === undefined)
        return undefined;
    let text;
    try {
        text = readFileSync(path, 'utf8');
    }
    catch (e) {
        throw new HostmeshError('TOKEN_UNREADABLE', `cannot read the token file ${path}: ${errorMessage(e)}`);
    }
    const token = text.trim();
    if (token === '')
        throw new HostmeshError('TOKEN_EMPTY', `the token file ${path} is empty`);
    return token;
}
/**
 * Calls `onChange` with the new token whenever the token file's content changes (a rotated
 * Secret: the kubelet swaps the mounted directory's symlink). The file is read every
 * `intervalMs`: a few bytes, and unlike stat-based watching it cannot miss a swap that happens
 * while the watch starts. A file that is unreadable or empty for a moment is skipped, keeping
 * the current token. Returns a function that stops watching.
 */
export function watchToken(path, initial, onChange, log, intervalMs = 1000) {
    let current = initial;
    let failing = false;
    const check = () => {
        let next;
        try {
            next = readToken(path);
        }
        catch (e) {
            // Once per stretch of failures, not every interval.
            if (!failing)
                log.warn({ file: path, err: errorMessage(e) }, 'the token file cannot be read now; keeping the current token');
            failing = true;
            return;
        }
        failing = false;
        if (next === undefined || next === current)
            return;
        current = next;
        onChange(next);
    };
    const timer = setInterval(check, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
}
