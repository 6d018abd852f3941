/**
 * Leader election on a `coordination.k8s.io/v1` Lease (docs/controller.md, "Two replicas"), a
 * small one of our own with client-go's rules:
 *
 * - Every `retryPeriodMs` each replica reads the Lease. The holder renews it (sets `renewTime`).
 * - A standby takes the Lease over only once it has seen the same holder and `renewTime` for
 *   `leaseDurationMs` on its own clock (no clock comparison between nodes), or at once when the
 *   holder released it (empty `holderIdentity`). Every write carries the `resourceVersion` it
 *   read, so of two standbys racing, one wins and the other gets 409.
 * - A leader that cannot renew for `renewDeadlineMs` (less than the lease duration) stops
 *   leading before anybody else may start, so two replicas never both act as leader.
 * - On a clean stop the leader releases the Lease, so the standby takes over at its next poll.
 *
 * Defaults: lease 10 s, renew deadline 7 s, retry 2 s: a standby takes over at most
 * 10 + 2 + 2 = 14 s after the leader's last renewal (so within 15 s of its death), and within
 * 2 s of a clean shutdown.
 */
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import { errorMessage, HostmeshError } from '../../common/errors.js';
import { failedWith, kubeCall } from '../kube/errors.js';
/** Lease annotation holding the holder's API address. */
export const ADDRESS_ANNOTATION = 'hostmesh.io/controller-api';
export const DEFAULT_LEASE_TIMINGS = { leaseDurationMs: 10_000, renewDeadlineMs: 7_000, retryPeriodMs: 2_000 };
/**
 * Lease times are MicroTime: the apiserver refuses anything but six fractional digits (400
 * "cannot parse \".810Z\" as \".000000\""), and a plain Date serializes with three. A time read
 * back from the server is a string or a plain Date, so every time sent goes through this.
 */
function microTime(t) {
    // client-node hands a MicroTime read from the server back as its string.
    if (t === undefined)
        return undefined;
    return new V1MicroTime(typeof t === 'string' ? Date.parse(t) : t.getTime());
}
export class LeaderElector {
    identity;
    name;
    namespace;
    timings;
    #api;
    #o;
    #leading = false;
    #holder;
    #holderAddress;
    /** The holder record last seen and when (local clock), to judge expiry without comparing clocks. */
    #observed;
    #lastRenew = 0;
    #timer;
    #running;
    #stopped = false;
    constructor(options) {
        this.#o = options;
        this.identity = options.identity;
        this.name = options.name ?? 'hostmesh-controller';
        this.namespace = options.namespace;
        this.timings = { ...DEFAULT_LEASE_TIMINGS, ...options.timings };
        const t = this.timings;
        if (!(t.retryPeriodMs > 0 && t.renewDeadlineMs > t.retryPeriodMs && t.leaseDurationMs > t.renewDeadlineMs)) {
            throw new HostmeshError('LEASE_TIMINGS', `leader election: need leaseDuration (${t.leaseDurationMs} ms) > renewDeadline (${t.renewDeadlineMs} ms) > retryPeriod (${t.retryPeriodMs} ms) > 0`);
        }
        if (options.identity === '')
            throw new HostmeshError('LEASE_IDENTITY', 'leader election: the identity must not be empty');
        this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    }
    get isLeader() {
        return this.#leading;
    }
    /** The holder of the Lease as last read (this replica's identity when leading). */
    get leader() {
        return this.#holder;
    }
    /** The API address the holder advertised in the Lease, if any. */
    get leaderAddress() {
        return this.#holderAddress;
    }
    start() {
        if (this.#timer !== undefined || this.#stopped)
            return;
        const tick = () => {
            this.#running = this.#tick().finally(() => {
                this.#running = undefined;
                if (!this.#stopped)
                    this.#timer = setTimeout(tick, this.timings.retryPeriodMs);
            });
        };
        this.#timer = setTimeout(tick, 0);
    }
    /** Stops campaigning; a leader releases the Lease (unless `release` is false: a crash, in tests). */
    async stop(release = true) {
        if (this.#stopped)
            return;
        this.#stopped = true;
        clearTimeout(this.#timer);
        await this.#running;
        if (!this.#leading)
            return;
        this.#setLeading(false);
        if (!release)
            return;
        try {
            const lease = await this.#read();
            if (lease.spec?.holderIdentity !== this.identity)
                return;
            lease.spec = { ...lease.spec, acquireTime: microTime(lease.spec?.acquireTime), holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
            await this.#replace(lease);
            this.#o.log.info({ lease: `${this.namespace}/${this.name}` }, 'released the leader Lease');
        }
        catch (e) {
            this.#o.log.warn({ err: errorMessage(e) }, 'could not release the leader Lease; the standby takes over once it expires');
        }
    }
    async #tick() {
        try {
            const ok = await this.#tryAcquireOrRenew();
            if (ok)
                this.#lastRenew = Date.now();
        }
        catch (e) {
            this.#o.log.warn({ err: errorMessage(e), lease: `${this.namespace}/${this.name}` }, 'leader election: the Lease could not be read or written');
        }
        if (this.#leading && Date.now() - this.#lastRenew > this.timings.renewDeadlineMs) {
            this.#o.log.error({ lease: `${this.namespace}/${this.name}` }, `leader election: could not renew the Lease for ${this.timings.renewDeadlineMs} ms; stepping down`);
            this.#setLeading(false);
        }
    }
    /** One round; true when this replica holds the Lease after it. */
    async #tryAcquireOrRenew() {
        const now = new Date();
        let lease;
        try {
            lease = await this.#read();
        }
        catch (e) {
            if (!failedWith(e, 404))
                throw e;
            try {
                await kubeCall({ verb: 'create', kind: 'Lease', namespace: this.namespace, name: this.name }, () => this.#api.createNamespacedLease({ namespace: this.namespace, body: this.#body(now, undefined) }));
            }
            catch (err) {
                if (failedWith(err, 409))
                    return false;
                throw err;
            }
            this.#won(now);
            return true;
        }
        const spec = lease.spec ?? {};
        const holder = spec.holderIdentity ?? '';
        this.#holder = holder === '' ? undefined : holder;
        this.#holderAddress = holder === '' ? undefined : lease.metadata?.annotations?.[ADDRESS_ANNOTATION];
        const key = `${holder}\n${String(spec.renewTime)}\n${String(spec.leaseDurationSeconds)}`;
        if (this.#observed?.key !== key)
            this.#observed = { key, at: now.getTime() };
        if (holder !== this.identity) {
            if (this.#leading) {
                this.#o.log.error({ holder }, 'leader election: another replica holds the Lease; stepping down');
                this.#setLeading(false);
            }
            const durationMs = (spec.leaseDurationSeconds ?? this.timings.leaseDurationMs / 1000) * 1000;
            if (holder !== '' && now.getTime() - this.#observed.at < durationMs)
                return false;
        }
        const body = this.#body(now, lease);
        try {
            await this.#replace(body);
        }
        catch (e) {
            if (failedWith(e, 409))
                return this.#leading;
            throw e;
        }
        if (!this.#leading)
            this.#won(now);
        return true;
    }
    #read() {
        return kubeCall({ verb: 'get', kind: 'Lease', namespace: this.namespace, name: this.name }, () => this.#api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    }
    #replace(body) {
        return kubeCall({ verb: 'update', kind: 'Lease', namespace: this.namespace, name: this.name }, () => this.#api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }));
    }
    #body(now, current) {
        const spec = current?.spec ?? {};
        const takeover = spec.holderIdentity !== this.identity;
        return {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
                ...(current?.metadata ?? { name: this.name, namespace: this.namespace }),
                annotations: { ...current?.metadata?.annotations, [ADDRESS_ANNOTATION]: this.#o.address ?? '' },
            },
            spec: {
                holderIdentity: this.identity,
                leaseDurationSeconds: Math.ceil(this.timings.leaseDurationMs / 1000),
                acquireTime: microTime(takeover ? now : spec.acquireTime),
                renewTime: microTime(now),
                leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && current !== undefined ? 1 : 0),
            },
        };
    }
    #won(now) {
        this.#holder = this.identity;
        this.#holderAddress = this.#o.address;
        this.#lastRenew = now.getTime();
        this.#o.log.info({ lease: `${this.namespace}/${this.name}`, identity: this.identity }, 'leader election: this replica is the leader');
        this.#setLeading(true);
    }
    #setLeading(leading) {
        if (this.#leading === leading)
            return;
        this.#leading = leading;
        if (leading)
            this.#o.onStartedLeading();
        else
            this.#o.onStoppedLeading();
    }
}
