/**
 * `hostmesh check --cluster`, DNS: asks every proxy's DNS responder (the proxy pods' `dns-udp`
 * port at their pod IP) for a name it must know, the way cluster DNS forwards to it: a meshed
 * Service's `<service>.<namespace>.<zone>` must answer its shadow Service's ClusterIP; with no
 * Service meshed yet, the zone's SOA must answer. One line for all of them.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../common/errors.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, SHADOW_OF_ANNOTATION } from '../controller/constants.ts';
import { kubeCall } from '../controller/kube/errors.ts';
import type { CheckLine } from './check-cluster.ts';

export interface DnsReply {
  rcode: string;
  answers: { type: string; name: string; data: unknown }[];
}

export type QueryType = 'A' | 'AAAA' | 'SOA' | 'SRV';

/** One question over UDP; rejects after `timeoutMs` with no answer. */
export function dnsQuery(host: string, port: number, name: string, type: QueryType = 'A', timeoutMs = 5000): Promise<DnsReply> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const id = 1 + Math.floor(Math.random() * 65000);
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no DNS answer for ${name} ${type} from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('error', (e) => {
      clearTimeout(timer);
      sock.close();
      reject(e);
    });
    sock.on('message', (msg) => {
      let decoded: dnsPacket.DecodedPacket & { rcode?: string };
      try {
        decoded = dnsPacket.decode(msg) as dnsPacket.DecodedPacket & { rcode?: string };
      } catch {
        return; // not a DNS message: keep waiting for one
      }
      if (decoded.id !== id) return;
      clearTimeout(timer);
      sock.close();
      resolve({ rcode: decoded.rcode ?? '?', answers: (decoded.answers ?? []).map((a) => ({ type: a.type, name: a.name, data: (a as { data?: unknown }).data })) });
    });
    sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), port, host);
  });
}

/** The name every proxy must know and what it must answer. */
interface Probe { name: string; type: QueryType; expect: (r: DnsReply) => boolean; want: string }

async function probeFor(core: CoreV1Api, namespace: string, zone: string): Promise<Probe> {
  const shadows = await kubeCall({ verb: 'list', kind: 'Service', namespace }, () => core.listNamespacedService({ namespace, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` }));
  for (const s of shadows.items) {
    const of = s.metadata?.annotations?.[SHADOW_OF_ANNOTATION];
    const ip = s.spec?.clusterIP;
    if (of === undefined || ip === undefined || ip === '' || ip === 'None') continue;
    const [ns, name] = of.split('/');
    if (ns === undefined || name === undefined) continue;
    const type = isIPv6(ip) ? 'AAAA' : 'A';
    return { name: `${name}.${ns}.${zone}`, type, want: ip, expect: (r) => r.rcode === 'NOERROR' && r.answers.some((a) => a.type === type && a.data === ip) };
  }
  return { name: zone, type: 'SOA', want: 'its SOA (no Service is meshed yet)', expect: (r) => r.rcode === 'NOERROR' && r.answers.some((a) => a.type === 'SOA') };
}

function dnsPort(pod: V1Pod): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    const p = c.ports?.find((port) => port.name === 'dns-udp');
    if (p !== undefined) return p.containerPort;
  }
  return undefined;
}

function describeReply(r: DnsReply): string {
  const data = r.answers.map((a) => `${a.type} ${typeof a.data === 'string' ? a.data : JSON.stringify(a.data)}`);
  return `${r.rcode}${data.length > 0 ? ` (${data.join(', ')})` : ', no answer'}`;
}

/** One line: whether every running proxy pod's DNS responder answers the probe name. */
export async function checkProxyDns(kc: KubeConfig, namespace: string, zone: string, timeoutMs = 2000): Promise<CheckLine> {
  const core = kc.makeApiClient(CoreV1Api);
  let pods: V1Pod[];
  let probe: Probe;
  try {
    pods = (await kubeCall({ verb: 'list', kind: 'Pod', namespace }, () => core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=hostmesh,app.kubernetes.io/component=proxy' }))).items;
    probe = await probeFor(core, namespace, zone);
  } catch (e) {
    return { state: 'fail', text: `cannot find the proxies' DNS responders: ${errorMessage(e)}` };
  }
  const running = pods.filter((p) => p.status?.phase === 'Running' && (p.status.podIP ?? '') !== '');
  if (running.length === 0) return { state: 'fail', text: `no running proxy pod (app.kubernetes.io/component=proxy) in namespace ${namespace} to ask for ${probe.name}` };
  const wrong: string[] = [];
  const unreachable: string[] = [];
  await Promise.all(running.map(async (pod) => {
    const who = `${pod.metadata?.name ?? '?'} (${pod.spec?.nodeName ?? 'no node'})`;
    const port = dnsPort(pod);
    if (port === undefined) {
      wrong.push(`${who} has no dns-udp port`);
      return;
    }
    const at = `${pod.status!.podIP!}:${port}`;
    try {
      const r = await dnsQuery(pod.status!.podIP!, port, probe.name, probe.type, timeoutMs);
      if (!probe.expect(r)) wrong.push(`${who} at ${at} answered ${describeReply(r)}`);
    } catch (e) {
      unreachable.push(`${who} at ${at}: ${errorMessage(e)}`);
    }
  }));
  const asked = `${probe.name} ${probe.type} (want ${probe.want})`;
  if (wrong.length > 0) return { state: 'fail', text: `proxy DNS, ${asked}: ${[...wrong, ...unreachable].join('; ')}` };
  // From outside the cluster network pod IPs are often unreachable: that alone is no failure.
  if (unreachable.length === running.length) return { state: 'warn', text: `could not reach any proxy's DNS responder from here to ask for ${probe.name} (${unreachable.join('; ')}); run the check from inside the cluster network to test them` };
  if (unreachable.length > 0) return { state: 'fail', text: `proxy DNS, ${asked}: ${running.length - unreachable.length} answered, these did not: ${unreachable.join('; ')}` };
  return { state: 'ok', text: `${running.length === 1 ? 'the proxy\'s DNS responder answers' : `all ${running.length} proxies' DNS responders answer`} ${probe.name} with ${probe.want}` };
}
