/**
 * The bench's trace collector: accepts OTLP/HTTP JSON posts, counts their spans and answers 200
 * at once (a collector that keeps up). Reports its port over IPC; prints the span count on exit.
 */
import { createServer } from 'node:http';

let spans = 0;
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => { body += c; });
  req.on('end', () => {
    spans += (body.match(/"spanId"/g) ?? []).length;
    res.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('disconnect', () => {
  process.stdout.write(`  otlp sink received ${spans} spans\n`);
  server.close();
  process.exit(0);
});
