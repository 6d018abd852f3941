/** Mesh DNS configs shared by the DNS tests. */
import type { DnsConfig } from '../../src/table/index.ts';

export const ZONES = ['hostmesh', 'traefik.mesh', 'caddy.mesh'];

/** 100 addresses: far more than fit 512 bytes (or 1232) of UDP. */
export const BIG_ADDRESSES = Array.from({ length: 100 }, (_, i) => `10.97.${i >> 8}.${i & 255}`);

export function meshConfig(): DnsConfig {
  return {
    zones: ZONES,
    ttl: 5,
    services: [
      {
        namespace: 'shop',
        name: 'web',
        addresses: ['10.96.0.10', 'fd00::10'],
        ports: [
          { name: 'http', protocol: 'tcp', port: 80 },
          { name: 'metrics', protocol: 'tcp', port: 9090 },
          { name: 'dns', protocol: 'udp', port: 53 },
        ],
      },
      { namespace: 'shop', name: 'db', addresses: ['10.96.0.11'], ports: [{ name: '', protocol: 'tcp', port: 5432 }] },
      { namespace: 'other', name: 'api', addresses: ['10.96.0.12'], ports: [{ name: 'grpc', protocol: 'tcp', port: 9000 }] },
      { namespace: 'shop', name: 'big', addresses: BIG_ADDRESSES, ports: [] },
    ],
  };
}
