import { cleanup } from '../controller/cleanup.js';
export async function runCleanupCommand(opts) {
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
    for (const write of dns.writes)
        opts.out(`removed the DNS patch: ${write}`);
    if (dns.restarted)
        opts.out(`restarted ${dns.restarted} so CoreDNS drops the mesh zones`);
    for (const shadow of report.deletedShadows)
        opts.out(`deleted shadow Service ${shadow}`);
    for (const error of report.errors)
        opts.err(`error: ${error}`);
    const actions = dns.writes.length + (dns.restarted ? 1 : 0) + report.deletedShadows.length;
    if (report.errors.length > 0) {
        opts.err(`cleanup incomplete: ${report.errors.length} problem(s); fix them and run hostmesh cleanup again`);
        return 1;
    }
    if (actions === 0) {
        const where = dns.strategy === undefined ? 'no cluster DNS found' : `no DNS patch (cluster DNS: ${dns.strategy})`;
        opts.out(`nothing to remove: ${where}, no shadow Services in namespace ${opts.meshNamespace}`);
    }
    else {
        opts.out(`cleanup complete: ${dns.writes.length} DNS write(s), ${report.deletedShadows.length} shadow Service(s) deleted`);
    }
    return 0;
}
