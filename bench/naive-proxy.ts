/**
 * The baseline: the proxy most people would write with undici in ten lines (Pool.stream, the
 * client's headers passed as they are). hostmesh must beat it while doing more.
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const backend = Number(process.argv[2]);
const pool = new Pool(`http://127.0.0.1:${backend}`, { pipelining: 1 });

const server = createServer((req, res) => {
  pool.stream(
    { path: req.url ?? '/', method: req.method as 'GET', headers: req.headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, headers as Record<string, string>);
      return res;
    },
    (err) => {
      if (err !== null && !res.headersSent) {
        res.statusCode = 502;
        res.end();
      }
    },
  );
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('disconnect', () => process.exit(0));
