/**
 * A small HTTP backend for `hostmesh demo` and for trying the mesh by hand: answers every request
 * with who it is and what it saw, as text, or JSON when asked.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoBackend {
  readonly name: string;
  readonly version: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startDemoBackend(opts: { name: string; version: string; host?: string; port?: number }): Promise<DemoBackend> {
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    name: opts.name,
    version: opts.version,
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
