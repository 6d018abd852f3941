// The proxy side of bench/l4.ts: TCP, UDP and DNS listeners in their own thread.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createTcpListener } from '../src/proxy/l4/tcp.ts';
import { createUdpListener } from '../src/proxy/l4/udp.ts';
import { createDnsResponder } from '../src/proxy/dns/server.ts';
import { createLogger } from '../src/common/log.ts';
import { RoundRobinPicker, endpoint, fixedRoute, l4Cluster } from '../test/support/l4-picker.ts';
import { meshConfig } from '../test/proxy/dns-fixtures.ts';

const log = createLogger('bench', 'warn');
const { tcpBackend, udpBackend } = workerData as { tcpBackend: number; udpBackend: number };
const obs = { connectionOpened() {}, connectionClosed() {}, connectionFailed() {}, connectError() {} };
const tcp = createTcpListener({ host: '127.0.0.1', port: 0, route: fixedRoute('b/t:1', l4Cluster('b/t:1', new RoundRobinPicker([endpoint('127.0.0.1', tcpBackend)]))), observer: obs, log });
await tcp.listen();
const udp = createUdpListener({ host: '127.0.0.1', port: 0, route: fixedRoute('b/u:1', l4Cluster('b/u:1', new RoundRobinPicker([endpoint('127.0.0.1', udpBackend)]))), observer: obs, log });
await udp.listen();
const dns = createDnsResponder({ host: '127.0.0.1', port: 0, config: meshConfig(), log });
const { udpPort: dnsPort } = await dns.listen();
parentPort!.postMessage({ tcp: tcp.port, udp: udp.port, dns: dnsPort });
let last = performance.eventLoopUtilization();
parentPort!.on('message', () => {
  const now = performance.eventLoopUtilization();
  parentPort!.postMessage(performance.eventLoopUtilization(now, last).utilization);
  last = now;
});
