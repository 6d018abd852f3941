/**
 * src/proxy/http/direct-write.ts: writes straight to the handle keep the order of the bytes
 * with writes through the stream, also when libuv cannot finish one at once (a reader that is
 * slower than the writer), and end() waits for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { directWrite } from '../../src/proxy/http/direct-write.ts';

test('direct writes keep their order with stream writes, finished at once or later, and end() waits for them', async (t) => {
  const received: Buffer[] = [];
  const accepted = Promise.withResolvers<Socket>();
  const server = createServer((s) => {
    // A slow reader at first: the big write cannot go out at once.
    s.pause();
    s.on('data', (d: Buffer) => received.push(d));
    accepted.resolve(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(socket, 'connect');
  const reader = await accepted.promise;

  const big = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i, i);
  assert.equal(directWrite(socket, 'head\r\n'), true, 'an idle socket takes a direct write');
  assert.equal(directWrite(socket, big), true);
  // libuv holds the rest of the big write: the next one goes through the stream, behind it.
  assert.equal(directWrite(socket, 'next'), false);
  socket.write('tail', 'latin1');
  socket.end();
  reader.resume();
  await once(reader, 'end');
  const all = Buffer.concat(received);
  assert.equal(all.length, 6 + big.length + 4);
  assert.equal(all.subarray(0, 6).toString(), 'head\r\n');
  assert.equal(all.subarray(6, 6 + big.length).equals(big), true);
  assert.equal(all.subarray(6 + big.length).toString(), 'tail');
  // An ended socket is not written directly.
  assert.equal(directWrite(socket, 'late'), false);
});
