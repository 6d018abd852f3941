/**
 * One connection pool per API server and TLS identity, instead of one per request.
 *
 * @kubernetes/client-node 2.0.1 builds a new undici Agent for every API request whose cluster
 * has TLS settings (a CA, a client certificate, or skipTLSVerify: every in-cluster config), so
 * each request opens a new connection, and against a real API server makes a TLS handshake: a
 * first install's thousands of shadow writes cost a handshake each on both sides, and sockets
 * linger until the abandoned agents are collected. `reuseConnections` keeps the first Agent
 * made for each set of TLS material (the CA, certificate and key as read for that request, so a
 * rotated certificate gets a new pool) and hands it to every later request with the same; the
 * agent made for the request meanwhile is closed unused.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** Pools kept at most (a rotated certificate makes a new one; the oldest is closed). */
const MAX_POOLS = 4;
const patched = new WeakSet<KubeConfig>();

function content(data: string | undefined, file: string | undefined): string {
  if (data !== undefined) return data;
  if (file === undefined) return '';
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return `unreadable:${file}`;
  }
}

/** What decides an Agent's connections: the server, the proxy, and the TLS material in use now. */
function tlsKey(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const parts = [
    cluster?.server, cluster?.proxyUrl, String(cluster?.skipTLSVerify), cluster?.tlsServerName,
    content(cluster?.caData, cluster?.caFile),
    content(user?.certData, user?.certFile),
    content(user?.keyData, user?.keyFile),
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64');
}

/** Makes every API client of `kc` share connections (see the file comment). Idempotent. */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  if (patched.has(kc)) return kc;
  patched.add(kc);
  const original = kc.applySecurityAuthentication.bind(kc);
  const pools = new Map<string, Dispatcher>();
  kc.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await original(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return;
    const key = tlsKey(kc);
    const kept = pools.get(key);
    if (kept === undefined) {
      pools.set(key, fresh);
      if (pools.size > MAX_POOLS) {
        const [oldest, pool] = pools.entries().next().value!;
        pools.delete(oldest);
        void pool.close().catch(() => {});
      }
      return;
    }
    context.setDispatcher(kept);
    void fresh.close().catch(() => {});
  };
  return kc;
}
