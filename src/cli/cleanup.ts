/**
 * `hostmesh cleanup`: runs cleanup() (the chart's pre-delete hook) and prints one line per
 * thing it did. Exit 0 when everything hostmesh added is gone, 1 when something could not be
 * removed (each error printed); usage and credential problems exit 2 before anything runs.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../common/log.ts';
import { cleanup } from '../controller/cleanup.ts';
import type { Backoff } from '../controller/kube/loop.ts';

export interface CleanupCommandOptions {
  kubeConfig: KubeConfig;
  meshNamespace: string;
  dnsService?: string | undefined;
  zones: readonly string[];
  log: Logger;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Retries of failed API calls (tests shorten them). */
  attempts?: number;
  backoff?: Backoff;
}

export async function runCleanupCommand(opts: CleanupCommandOptions): Promise<number> {
  const report = await cleanup({
    kubeConfig: opts.kubeConfig,
    meshNamespace: opts.meshNamespace,
    ...(opts.dnsService === undefined ? {} : { dnsService: opts.dnsService }),
    zones: opts.zones,
    log: opts.log,
    ...(opts.attempts === undefined ? {} : { attempts: opts.attempts }),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
  });
  const { dns } = report;
  for (const write of dns.writes) opts.out(`removed the DNS patch: ${write}`);
  if (dns.restarted) opts.out(`restarted ${dns.restarted} so CoreDNS drops the mesh zones`);
  for (const shadow of report.deletedShadows) opts.out(`deleted shadow Service ${shadow}`);
  for (const error of report.errors) opts.err(`error: ${error}`);

  const actions = dns.writes.length + (dns.restarted ? 1 : 0) + report.deletedShadows.length;
  if (report.errors.length > 0) {
    opts.err(`cleanup incomplete: ${report.errors.length} problem(s); fix them and run hostmesh cleanup again`);
    return 1;
  }
  if (actions === 0) {
    const where = dns.strategy === undefined ? 'no cluster DNS found' : `no DNS patch (cluster DNS: ${dns.strategy})`;
    opts.out(`nothing to remove: ${where}, no shadow Services in namespace ${opts.meshNamespace}`);
  } else {
    opts.out(`cleanup complete: ${dns.writes.length} DNS write(s), ${report.deletedShadows.length} shadow Service(s) deleted`);
  }
  return 0;
}
