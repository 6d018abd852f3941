import { errorMessage, HostmeshError, isHostmeshError } from '../../common/errors.js';
import { NDJSON } from '../../table/index.js';
import { REPORT_PATH, STATS_PATH, TAP_PATH } from '../../table/live.js';
import { bearerAuth } from '../push/auth.js';
import { readBody, sendError, sendJson } from '../push/http-util.js';
import { parseReport } from './report.js';
const TARGET = /^[a-z0-9]([-a-z0-9.]{0,252})\/[a-z0-9]([-a-z0-9.]{0,252})(:\d{1,5})?$/;
const KEEPALIVE_MS = 10_000;
/** A tap client this far behind loses events rather than grow the controller's memory. */
const MAX_UNSENT = 1 << 20;
/** Parses `/v1/tap` query parameters; throws BAD_TAP naming the parameter. */
export function parseTapQuery(search) {
    const q = new URLSearchParams(search);
    const target = q.get('route') ?? '';
    const fail = (why) => {
        throw new HostmeshError('BAD_TAP', why);
    };
    if (!TARGET.test(target))
        fail(`route: "${target.slice(0, 100)}" is not namespace/service or namespace/service:port`);
    const req = { target };
    const path = q.get('path');
    if (path !== null && path !== '') {
        if (!path.startsWith('/') || path.length > 256)
            fail(`path: "${path.slice(0, 100)}" must start with / (at most 256 characters)`);
        req.path = path;
    }
    const method = q.get('method');
    if (method !== null && method !== '') {
        if (!/^[A-Za-z]{1,20}$/.test(method))
            fail(`method: "${method.slice(0, 40)}" is not an HTTP method`);
        req.method = method.toUpperCase();
    }
    const code = q.get('code');
    if (code !== null && code !== '') {
        const n = Number(code);
        if (!Number.isInteger(n) || n < 100 || n > 599)
            fail(`code: "${code.slice(0, 20)}" is not a status code (100-599)`);
        req.code = n;
    }
    const sample = q.get('sample');
    if (sample !== null && sample !== '') {
        const n = Number(sample);
        if (!(n > 0 && n <= 1))
            fail(`sample: "${sample.slice(0, 20)}" is not a share in (0, 1]`);
        req.sample = n;
    }
    const rate = q.get('rate');
    if (rate !== null && rate !== '') {
        const n = Number(rate);
        if (!Number.isInteger(n) || n < 1 || n > 1000)
            fail(`rate: "${rate.slice(0, 20)}" is not events per second per proxy (1-1000)`);
        req.maxPerSecond = n;
    }
    return req;
}
export function createLiveApi(opts) {
    const { hub, log } = opts;
    const auth = opts.token !== undefined && opts.token.trim() !== '' ? bearerAuth(opts.token) : undefined;
    const maxReport = opts.maxReportBytes ?? 4 * 1024 * 1024;
    const authorized = (req, res) => {
        if (auth === undefined)
            return true;
        const r = auth(req.headers.authorization);
        if (r === 'ok')
            return true;
        sendError(res, 401, 'UNAUTHORIZED', r === 'missing' ? 'a bearer token is required (Authorization: Bearer <token>)' : 'the bearer token is not valid', { 'www-authenticate': 'Bearer realm="hostmesh"' });
        return false;
    };
    const allow = (req, res, method) => {
        if (req.method === method)
            return true;
        sendError(res, 405, 'METHOD_NOT_ALLOWED', `method ${req.method ?? '?'} is not allowed here (allowed: ${method})`, { allow: method });
        return false;
    };
    const report = async (req, res) => {
        let body;
        try {
            body = await readBody(req, maxReport);
        }
        catch (e) {
            if (isHostmeshError(e, 'BODY_TOO_LARGE'))
                sendError(res, 413, e.code, `report: ${e.message}`, { connection: 'close' });
            else
                res.destroy();
            return;
        }
        let parsed;
        try {
            parsed = parseReport(JSON.parse(body.toString('utf8')));
        }
        catch (e) {
            sendError(res, 400, isHostmeshError(e) ? e.code : 'BAD_REPORT', e instanceof SyntaxError ? `report: body is not valid JSON (${e.message})` : errorMessage(e));
            return;
        }
        sendJson(res, 200, hub.report(parsed));
    };
    const tap = (req, res, search) => {
        let request;
        try {
            request = parseTapQuery(search);
        }
        catch (e) {
            sendError(res, 400, 'BAD_TAP', `tap: ${errorMessage(e)}`);
            return;
        }
        let session;
        try {
            session = hub.tap(request, (e) => {
                if (res.writableLength > MAX_UNSENT)
                    return;
                res.write(`${JSON.stringify(e)}\n`);
            });
        }
        catch (e) {
            sendError(res, 429, isHostmeshError(e) ? e.code : 'TAP_LIMIT', errorMessage(e));
            return;
        }
        log.info({ tap: session.id, route: request.target }, 'tap started');
        res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
        res.write('\n');
        const keepalive = setInterval(() => res.write('\n'), KEEPALIVE_MS);
        keepalive.unref();
        res.once('close', () => {
            clearInterval(keepalive);
            session.close();
            log.info({ tap: session.id }, 'tap ended');
        });
    };
    return (req, res, path, search) => {
        switch (path) {
            case REPORT_PATH:
                if (authorized(req, res) && allow(req, res, 'POST')) {
                    report(req, res).catch((e) => {
                        log.error({ err: errorMessage(e) }, 'live report failed');
                        if (!res.headersSent)
                            sendError(res, 500, 'INTERNAL', 'internal error');
                    });
                }
                return true;
            case STATS_PATH:
                if (authorized(req, res) && allow(req, res, 'GET'))
                    sendJson(res, 200, hub.stats());
                return true;
            case TAP_PATH:
                if (authorized(req, res) && allow(req, res, 'GET'))
                    tap(req, res, search);
                return true;
            default:
                return false;
        }
    };
}
