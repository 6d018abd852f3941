/** The controller's distribution metrics (see docs/distribution.md for what each one means). */
import { Counter, Gauge, Histogram } from 'prom-client';
/**
 * `hostmesh_config_problems{severity}`: configuration problems the controller (or standalone)
 * reports now, errors and warnings, both series always present. Read at scrape time.
 */
export function registerProblemsGauge(registry, problems) {
    return new Gauge({
        name: 'hostmesh_config_problems',
        help: 'Configuration problems reported now (bad annotations, port conflicts, shadow Service or DNS trouble), by severity.',
        labelNames: ['severity'],
        registers: [registry],
        collect() {
            let errors = 0;
            let warnings = 0;
            for (const p of problems()) {
                if (p.severity === 'error')
                    errors++;
                else if (p.severity === 'warning')
                    warnings++;
            }
            this.set({ severity: 'error' }, errors);
            this.set({ severity: 'warning' }, warnings);
        },
    });
}
/** `hostmesh_controller_config_version`: the version the controller (or standalone) publishes. */
export function registerVersionGauge(registry, version) {
    return new Gauge({
        name: 'hostmesh_controller_config_version',
        help: 'Version of the routing table the controller serves (0 before the first publish).',
        registers: [registry],
        collect() {
            this.set(version());
        },
    });
}
export function createControllerMetrics(registry, sources) {
    const version = registerVersionGauge(registry, sources.version);
    const proxies = new Gauge({
        name: 'hostmesh_controller_proxies',
        help: 'Proxies known to the controller, by whether a watch stream is open.',
        labelNames: ['state'],
        registers: [registry],
        collect() {
            const c = sources.proxies();
            this.set({ state: 'connected' }, c.connected);
            this.set({ state: 'disconnected' }, c.disconnected);
        },
    });
    registerProblemsGauge(registry, sources.problems);
    return {
        version,
        proxies,
        publishes: new Counter({
            name: 'hostmesh_controller_publishes_total',
            help: 'Routing-table versions published.',
            registers: [registry],
        }),
        applyLag: new Histogram({
            name: 'hostmesh_controller_apply_lag_seconds',
            help: 'Time from publishing a version to a proxy acknowledging it applied.',
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
            registers: [registry],
        }),
        refusals: new Counter({
            name: 'hostmesh_controller_refusals_total',
            help: 'Snapshots a proxy reported it refused (it kept serving its previous table).',
            registers: [registry],
        }),
        skippedSnapshots: new Counter({
            name: 'hostmesh_controller_watch_skipped_snapshots_total',
            help: 'Versions not sent one by one to a slow proxy: it caught up with one snapshot or the deltas since, once its stream drained.',
            registers: [registry],
        }),
        watchBytes: new Counter({
            name: 'hostmesh_controller_watch_sent_bytes_total',
            help: 'Bytes of routing-table messages written to watch streams, by kind (snapshot or delta).',
            labelNames: ['kind'],
            registers: [registry],
        }),
        watchMessages: new Counter({
            name: 'hostmesh_controller_watch_messages_total',
            help: 'Routing-table messages written to watch streams, by kind (snapshot or delta).',
            labelNames: ['kind'],
            registers: [registry],
        }),
    };
}
