/**
 * The real CoreDNS, run on loopback with the Corefile read back from the ConfigMap the controller
 * patched. `localCorefile` changes only what a pod network provides and loopback cannot: the
 * server blocks listen on one loopback port instead of :53, the kubernetes plugin reaches the
 * apiserver through a kubeconfig instead of the pod's service account, a ClusterIP that a block
 * forwards to becomes the proxy address kube-proxy would have sent it to, and the plugins that
 * only open their own ports or probe the upstream (health, ready, prometheus, loop) are left out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dnsQuery } from '../../src/cli/check-proxy-dns.ts';
import type { DnsReply } from '../../src/cli/check-proxy-dns.ts';
import { freePort } from '../proxy/helpers.ts';
import type { Cluster } from './cluster.ts';
import { Component } from './processes.ts';

const DROPPED = new Set(['health', 'ready', 'prometheus', 'loop']);

export interface LocalCorefileOptions {
  port: number;
  kubeconfig: string;
  /** ClusterIP (or ClusterIP:port) -> host:port that stands for it on loopback. */
  forwards: ReadonlyMap<string, string>;
}

/** The kubeadm-shaped Corefile as it would run in a pod, moved to loopback (pure). */
export function localCorefile(corefile: string, opts: LocalCorefileOptions): string {
  const out: string[] = [];
  let depth = 0;
  let skipUntilDepth = -1;
  for (const line of corefile.split('\n')) {
    const trimmed = line.trim();
    const opens = trimmed.endsWith('{') ? 1 : 0;
    const closes = trimmed === '}' ? 1 : 0;
    if (skipUntilDepth >= 0) {
      depth += opens - closes;
      if (depth === skipUntilDepth) skipUntilDepth = -1;
      continue;
    }
    const plugin = trimmed.split(/\s+/)[0] ?? '';
    if (depth === 1 && DROPPED.has(plugin)) {
      if (opens) {
        skipUntilDepth = depth;
        depth += 1;
      }
      continue;
    }
    if (depth === 0 && opens) {
      // A server block: `zone[:53] [zone...] {` -> every zone on our port, bound to loopback.
      const zones = trimmed.slice(0, -1).trim().split(/\s+/).map((z) => `${z.replace(/:\d+$/, '')}:${opts.port}`);
      out.push(`${zones.join(' ')} {`, '    bind 127.0.0.1');
      depth = 1;
      continue;
    }
    if (depth === 1 && plugin === 'kubernetes') {
      out.push(line);
      if (opens) out.push(`       kubeconfig ${opts.kubeconfig} admin`);
      else throw new Error(`kubernetes plugin without a block: ${trimmed}`);
      depth += 1;
      continue;
    }
    if (depth === 1 && plugin === 'forward') {
      const [, from, ...to] = trimmed.replace(/\s*\{$/, '').split(/\s+/);
      const mapped = to.map((t) => opts.forwards.get(t) ?? opts.forwards.get(t.replace(/:53$/, '')) ?? t);
      out.push(`    forward ${from} ${mapped.join(' ')}${opens ? ' {' : ''}`);
      depth += opens;
      continue;
    }
    depth += opens - closes;
    out.push(line);
  }
  return out.join('\n');
}

export class CoreDns {
  readonly process: Component;
  readonly port: number;
  readonly corefile: string;

  private constructor(process: Component, port: number, corefile: string) {
    this.process = process;
    this.port = port;
    this.corefile = corefile;
  }

  /** Starts CoreDNS on 127.0.0.1 with `corefile` (as read from the ConfigMap), waiting until it answers. */
  static async start(cluster: Cluster, corefile: string, forwards: ReadonlyMap<string, string>): Promise<CoreDns> {
    const port = await freePort();
    const local = localCorefile(corefile, { port, kubeconfig: cluster.adminKubeconfig, forwards });
    const file = join(cluster.dir, 'Corefile');
    writeFileSync(file, local);
    const proc = new Component('coredns', cluster.bins.coredns, ['-conf', file]);
    const dns = new CoreDns(proc, port, local);
    await proc.waitReady('answering kubernetes.default.svc.cluster.local', async () => {
      const a = await dnsQuery('127.0.0.1', port, 'kubernetes.default.svc.cluster.local');
      return a.rcode === 'NOERROR' && a.answers.length > 0;
    }, 60_000);
    return dns;
  }

  query(name: string, type: 'A' | 'SRV' = 'A'): Promise<DnsReply> {
    return dnsQuery('127.0.0.1', this.port, name, type);
  }

  stop(): Promise<unknown> {
    return this.process.stop();
  }
}
