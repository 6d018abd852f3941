/**
 * The dashboard over HTTP: read-only, behind the controller's token. The login form posts the
 * token once; a random session id (never the token) goes back in an HttpOnly, SameSite=Strict
 * cookie. The page then reads `/dashboard/state` and follows `/dashboard/events` (server-sent
 * events, one JSON view per change, checked every second).
 *
 *   GET  /dashboard            the page (303 to the login form without a session)
 *   GET  /dashboard/login      the login form;  POST it: `token=...` -> cookie, 303 /dashboard
 *   POST /dashboard/logout     ends the session
 *   GET  /dashboard/state      the view as JSON;  GET /dashboard/events  the same, live (SSE)
 *   GET  /dashboard/app.js, /dashboard/app.css
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../../common/errors.js';
import { readBody } from '../push/http-util.js';
import { APP_CSS, APP_JS, loginPage, mainPage } from './assets.js';
import { buildView } from './view.js';
export const COOKIE = 'hostmesh-session';
const MAX_SESSIONS = 1000;
const SECURITY_HEADERS = {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};
function sha256(s) {
    return createHash('sha256').update(s).digest();
}
function send(res, status, type, body, headers = {}) {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(res.req.method === 'HEAD' ? undefined : body);
}
function redirect(res, to, headers = {}) {
    res.writeHead(303, { ...SECURITY_HEADERS, location: to, 'content-length': '0', ...headers });
    res.end();
}
function cookieValue(header, name) {
    if (header === undefined)
        return undefined;
    for (const part of header.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === name)
            return part.slice(eq + 1).trim();
    }
    return undefined;
}
export function createDashboard(opts) {
    const { source, log } = opts;
    const tokenDigest = opts.token !== undefined && opts.token.trim() !== '' ? sha256(opts.token.trim()) : undefined;
    const sessionMs = opts.sessionMs ?? 12 * 3600_000;
    const sessions = new Map();
    const streams = new Set();
    let lastText = '';
    const viewText = () => JSON.stringify(buildView(source));
    const tick = setInterval(() => {
        if (streams.size === 0)
            return;
        let text;
        try {
            text = viewText();
        }
        catch (e) {
            log.error({ err: errorMessage(e) }, 'dashboard: building the view failed');
            return;
        }
        if (text === lastText)
            return;
        lastText = text;
        for (const s of streams)
            s.write(`data: ${text}\n\n`);
    }, opts.tickMs ?? 1000);
    tick.unref();
    const keepalive = setInterval(() => {
        for (const s of streams)
            s.write(': keepalive\n\n');
    }, 15_000);
    keepalive.unref();
    const loggedIn = (req) => {
        if (tokenDigest === undefined)
            return true;
        const id = cookieValue(req.headers.cookie, COOKIE);
        if (id === undefined)
            return false;
        const until = sessions.get(id);
        if (until === undefined)
            return false;
        if (until < Date.now()) {
            sessions.delete(id);
            return false;
        }
        return true;
    };
    const login = async (req, res) => {
        let body;
        try {
            body = (await readBody(req, 8192)).toString('utf8');
        }
        catch {
            send(res, 413, 'text/plain; charset=utf-8', 'login: the form is too large\n', { connection: 'close' });
            return;
        }
        const token = new URLSearchParams(body).get('token')?.trim() ?? '';
        if (tokenDigest === undefined || token === '' || !timingSafeEqual(sha256(token), tokenDigest)) {
            log.warn({ client: req.socket.remoteAddress }, 'dashboard: login with a wrong token');
            send(res, 401, 'text/html; charset=utf-8', loginPage('That token is not valid.'));
            return;
        }
        const now = Date.now();
        for (const [id, until] of sessions)
            if (until < now)
                sessions.delete(id);
        if (sessions.size >= MAX_SESSIONS)
            sessions.delete(sessions.keys().next().value);
        const id = randomBytes(32).toString('base64url');
        sessions.set(id, now + sessionMs);
        redirect(res, '/dashboard', { 'set-cookie': `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=${Math.floor(sessionMs / 1000)}` });
    };
    const events = (req, res) => {
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
        res.write(`retry: 2000\ndata: ${viewText()}\n\n`);
        streams.add(res);
        req.socket.setKeepAlive(true, 30_000);
        res.once('close', () => streams.delete(res));
    };
    const handler = (req, res, path) => {
        if (path !== '/dashboard' && !path.startsWith('/dashboard/'))
            return false;
        const method = req.method ?? 'GET';
        const get = method === 'GET' || method === 'HEAD';
        switch (path) {
            case '/dashboard/login':
                if (method === 'POST') {
                    login(req, res).catch((e) => {
                        log.error({ err: errorMessage(e) }, 'dashboard: login failed');
                        if (!res.headersSent)
                            send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
                    });
                }
                else if (get) {
                    if (tokenDigest === undefined || loggedIn(req))
                        redirect(res, '/dashboard');
                    else
                        send(res, 200, 'text/html; charset=utf-8', loginPage());
                }
                else
                    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD, POST' });
                return true;
            case '/dashboard/logout':
                if (method !== 'POST') {
                    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'POST' });
                    return true;
                }
                sessions.delete(cookieValue(req.headers.cookie, COOKIE) ?? '');
                redirect(res, '/dashboard/login', { 'set-cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/dashboard; Max-Age=0` });
                return true;
            case '/dashboard/app.js':
            case '/dashboard/app.css':
                if (!get)
                    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
                else if (path.endsWith('.js'))
                    send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
                else
                    send(res, 200, 'text/css; charset=utf-8', APP_CSS);
                return true;
            default:
                break;
        }
        if (!get) {
            send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
            return true;
        }
        const authed = loggedIn(req);
        switch (path) {
            case '/dashboard':
            case '/dashboard/':
                if (authed)
                    send(res, 200, 'text/html; charset=utf-8', mainPage(tokenDigest !== undefined));
                else
                    redirect(res, '/dashboard/login');
                return true;
            case '/dashboard/state':
                if (authed)
                    send(res, 200, 'application/json', viewText());
                else
                    send(res, 401, 'application/json', '{"error":{"code":"UNAUTHORIZED","message":"log in at /dashboard/login"}}');
                return true;
            case '/dashboard/events':
                if (authed)
                    events(req, res);
                else
                    send(res, 401, 'text/plain; charset=utf-8', 'log in at /dashboard/login\n');
                return true;
            default:
                send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
                return true;
        }
    };
    return Object.assign(handler, {
        close: () => {
            clearInterval(tick);
            clearInterval(keepalive);
            for (const s of streams)
                s.end();
            streams.clear();
        },
    });
}
