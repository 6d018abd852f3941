/** An HTTPS backend with the test certificate, and a raw TLS client for it through the proxy. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { connect } from 'node:tls';

const dir = new URL('../fixtures/', import.meta.url);

export const connectTls = {
  async server(): Promise<{ port: number; close: () => Promise<void> }> {
    const server = createServer({ cert: readFileSync(new URL('test-backend.crt', dir)), key: readFileSync(new URL('test-backend.key', dir)) }, (_req, res) => res.end('tls ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as { port: number }).port,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  },
  /** GET / over TLS to `port` (certificate not verified); the response body. */
  get(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      let out = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => { out += d; });
      s.on('error', reject);
      s.on('end', () => resolve(out.slice(out.indexOf('\r\n\r\n') + 4)));
      s.once('secureConnect', () => s.write('GET / HTTP/1.1\r\nHost: tls.test\r\nConnection: close\r\n\r\n'));
    });
  },
};
