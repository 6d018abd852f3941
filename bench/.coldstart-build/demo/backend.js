/**
 * A small HTTP backend for `hostmesh demo` and for trying the mesh by hand: answers every request
 * with who it is and what it saw, as text, or JSON when asked.
 */
import { createServer } from 'node:http';
export async function startDemoBackend(opts) {
    const server = createServer((req, res) => {
        const body = {
            service: opts.name,
            version: opts.version,
            method: req.method,
            path: req.url,
            forwardedFor: req.headers['x-forwarded-for'] ?? null,
            userAgent: req.headers['user-agent'] ?? null,
        };
        const wantsJson = (req.headers.accept ?? '').includes('application/json');
        const text = wantsJson ? `${JSON.stringify(body)}\n` : `${opts.name} ${opts.version}: ${req.method} ${req.url}\n`;
        res.writeHead(200, { 'content-type': wantsJson ? 'application/json' : 'text/plain; charset=utf-8', 'x-demo-version': opts.version });
        // Drain any request body so keep-alive connections stay usable.
        req.resume();
        req.on('end', () => res.end(text));
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
    return {
        name: opts.name,
        version: opts.version,
        port: server.address().port,
        server,
        close: () => new Promise((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
        }),
    };
}
