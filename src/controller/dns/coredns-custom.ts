/**
 * The extension point of k3s and AKS: a `coredns-custom` ConfigMap whose `*.server` keys the
 * main Corefile imports as server blocks. hostmesh owns one key, `hostmesh.server`; k3s rewrites
 * its own `coredns` ConfigMap on restart and AKS forbids editing it, but this key survives both.
 */
import { checkZoneConflicts, outlineCorefile, renderManagedRegion } from './corefile.ts';
import type { DnsTarget } from './types.ts';

export const CUSTOM_SERVER_KEY = 'hostmesh.server';

export interface DataEdit {
  data: Record<string, string>;
  changed: boolean;
}

export function renderCustomServer(target: DnsTarget, port: number): string {
  return `${renderManagedRegion(target, port).join('\n')}\n`;
}

/**
 * Sets `hostmesh.server`, keeping every other key. Fails (DNS_ZONE_CONFLICT) when another
 * imported `*.server` key already serves a mesh zone on the same port.
 */
export function patchCustomData(data: Readonly<Record<string, string>> | undefined, target: DnsTarget, port: number, where: string): DataEdit {
  for (const [key, value] of Object.entries(data ?? {})) {
    if (key === CUSTOM_SERVER_KEY || !key.endsWith('.server')) continue;
    checkZoneConflicts(outlineCorefile(value, `key ${key} of ${where}`), target, port, `key ${key} of ${where}`);
  }
  const text = renderCustomServer(target, port);
  return { data: { ...data, [CUSTOM_SERVER_KEY]: text }, changed: data?.[CUSTOM_SERVER_KEY] !== text };
}

export function removeCustomData(data: Readonly<Record<string, string>> | undefined): DataEdit {
  const { [CUSTOM_SERVER_KEY]: removed, ...rest } = data ?? {};
  return { data: rest, changed: removed !== undefined };
}
