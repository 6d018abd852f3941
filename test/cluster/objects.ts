/** Objects the cluster tier creates through the real apiserver. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { SERVICE_NAME_LABEL } from '../../src/controller/objects.ts';

export function namespaceObject(name: string): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** A Service without a selector: its EndpointSlices are the test's (no controller-manager runs). */
export function serviceObject(namespace: string, name: string, ports: { name: string; port: number; targetPort: number; protocol?: string }[], annotations: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, annotations }, spec: { ports } };
}

export function endpointSliceObject(namespace: string, service: string, name: string, ips: string[], ports: { name: string; port: number }[]): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { [SERVICE_NAME_LABEL]: service, 'endpointslice.kubernetes.io/managed-by': 'cluster-tier.hostmesh.io' } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
  };
}

/**
 * kubeadm's cluster DNS: the coredns Deployment and ConfigMap (the same objects as the kubeadm
 * golden case of the DNS patch), and the kube-dns Service.
 */
export function clusterDnsObjects(): object[] {
  const text = readFileSync(new URL('../golden/corefile/kubeadm/observed.yaml', import.meta.url), 'utf8');
  const objects = parseAllDocuments(text).map((d) => d.toJS() as { metadata: { resourceVersion?: string } });
  for (const o of objects) delete o.metadata.resourceVersion;
  return [
    ...objects,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: '10.96.0.10',
        selector: { 'k8s-app': 'kube-dns' },
        ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }],
      },
    },
  ];
}
