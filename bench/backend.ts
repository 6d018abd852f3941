/**
 * The bench's static backend: a raw TCP server that answers every request head with the same
 * canned 100-byte response. It parses nothing beyond the blank line ending a head, so it costs
 * far less than the proxies it feeds (the role nginx plays in DESIGN.md's reference numbers).
 * GET requests only (no bodies). Reports its port over IPC.
 */
import { createServer } from 'node:net';

const BODY = 'x'.repeat(99) + '\n';
const RESPONSE = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\nconnection: keep-alive\r\n\r\n${BODY}`, 'latin1');
const END = Buffer.from('\r\n\r\n');

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let tail: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let heads = 0;
    let at = data.indexOf(END);
    let last = 0;
    while (at >= 0) {
      heads++;
      last = at + 4;
      at = data.indexOf(END, last);
    }
    tail = data.subarray(Math.max(last, data.length - 3));
    if (heads === 1) socket.write(RESPONSE);
    else if (heads > 1) socket.write(Buffer.concat(Array.from({ length: heads }, () => RESPONSE)));
  });
  socket.on('error', () => socket.destroy());
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('disconnect', () => process.exit(0));
