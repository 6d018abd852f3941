/**
 * A proxy engine in its own process, for tests that measure it from outside (memory). Started
 * with fork(); the table arrives as an IPC message; `memory` requests are answered with
 * process.memoryUsage(), after a full GC when asked, so live buffers can be told from garbage.
 */
import { ProxyEngine } from '../../src/proxy/engine.ts';

const engine = new ProxyEngine({ processMetrics: false });
const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (msg: { type: string; table?: unknown }) => {
  if (msg.type === 'apply') {
    void engine.apply(msg.table).then((r) => process.send!({ type: 'applied', ok: r.ok }));
  } else if (msg.type === 'memory') {
    gc?.();
    process.send!({ type: 'memory', ...process.memoryUsage() });
  } else if (msg.type === 'exit') {
    void engine.close().then(() => process.exit(0));
  }
});
process.send!({ type: 'started' });
