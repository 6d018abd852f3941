/**
 * Warning Events for problems with Services: every warning or error diagnostic about a Service
 * becomes one core/v1 Event on it (`kubectl describe service` shows it), naming the key, the
 * value and why, and is not repeated while the problem stays the same.
 *
 * The Event's name is derived from the Service's uid, the diagnostic's code, key and value, so
 * a restarted controller that reports the same problem again gets 409 AlreadyExists instead of
 * making a duplicate, and a different problem (another value) gets a new Event. A problem that
 * goes away and comes back bumps the existing Event's count and lastTimestamp.
 *
 * core/v1 `events` is what the chart's RBAC grants (create, patch; no get or list), and what
 * `kubectl describe` reads. The legacy fields (firstTimestamp, lastTimestamp, count, source) are
 * used, without eventTime: the API server then applies only the legacy validation.
 */
import { createHash } from 'node:crypto';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { serviceId } from '../../table/ids.ts';
import type { ServiceObject } from '../objects.ts';
import { failedWith, kubeCall, requestFailure } from './errors.ts';
import { SerialLoop, forEachLimit } from './loop.ts';
import type { Backoff, RunOutcome } from './loop.ts';
import type { Diagnostic, DiagnosticCode } from '../translation/types.ts';

/** `source.component` and `reportingComponent` of hostmesh's Events. */
export const EVENT_COMPONENT = 'hostmesh-controller';
export const EVENT_REPORTING_CONTROLLER = 'hostmesh.io/controller';
const MAX_MESSAGE = 1024;

/** One problem to report: a Warning Event on a Service. */
export interface ServiceProblem {
  /** The Event's name: `<service>.<16 hex digits>`, stable for the same problem. */
  eventName: string;
  namespace: string;
  service: string;
  uid: string;
  reason: string;
  message: string;
}

const REASONS: Partial<Record<DiagnosticCode, string>> = {
  'annotation-invalid': 'InvalidAnnotation',
  'annotation-invalid-expression': 'InvalidAnnotation',
  'annotation-conflict': 'ConflictingAnnotations',
  'annotation-alias-conflict': 'ConflictingAnnotations',
  'annotation-unknown': 'UnknownAnnotation',
  'annotation-alias-unsupported': 'UnsupportedAnnotation',
  'annotation-ignored': 'IgnoredAnnotation',
  'ports-exhausted': 'ProxyPortsExhausted',
};

/** `split-target-missing` -> `SplitTargetMissing`, for codes without a chosen reason. */
export function eventReason(code: DiagnosticCode): string {
  return REASONS[code] ?? code.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/**
 * Stable per Service object (uid) and problem (code, key, value). A diagnostic with neither key
 * nor value is told apart from others of its code by its message.
 */
export function eventName(service: string, uid: string, d: Pick<Diagnostic, 'code' | 'key' | 'value' | 'message'>): string {
  const parts = [uid, d.code, d.key ?? '', d.value ?? ''];
  if (d.key === undefined && d.value === undefined) parts.push(d.message);
  return `${service}.${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16)}`;
}

/**
 * The problems to report as Events: warnings and errors about existing Services. The
 * `settings-last-good` warning only says what the others cause, so it is folded into their
 * messages instead of making an Event of its own.
 */
export function serviceProblems(diagnostics: readonly Diagnostic[], services: readonly ServiceObject[]): ServiceProblem[] {
  // Most translations report nothing about Services: no pass over all of them then.
  if (!diagnostics.some((d) => d.severity !== 'info' && d.code !== 'settings-last-good' && d.object.kind === 'Service')) return [];
  const uids = new Map<string, string>();
  for (const svc of services) {
    const uid = svc.metadata?.uid;
    if (typeof uid === 'string' && uid !== '') uids.set(serviceId(svc.metadata.namespace ?? 'default', svc.metadata.name), uid);
  }
  const consequence = new Map<string, string>();
  for (const d of diagnostics) {
    if (d.code !== 'settings-last-good' || d.object.kind !== 'Service' || d.object.namespace === undefined) continue;
    const id = serviceId(d.object.namespace, d.object.name);
    const prefix = `${id}: `;
    consequence.set(id, d.message.startsWith(prefix) ? d.message.slice(prefix.length) : d.message);
  }
  const out = new Map<string, ServiceProblem>();
  for (const d of diagnostics) {
    if (d.severity === 'info' || d.code === 'settings-last-good' || d.object.kind !== 'Service' || d.object.namespace === undefined) continue;
    const id = serviceId(d.object.namespace, d.object.name);
    const uid = uids.get(id);
    if (uid === undefined) continue;
    const name = eventName(d.object.name, uid, d);
    const also = d.code.startsWith('annotation-') ? consequence.get(id) : undefined;
    const message = also === undefined ? d.message : `${d.message}; ${also}`;
    out.set(name, {
      eventName: name,
      namespace: d.object.namespace,
      service: d.object.name,
      uid,
      reason: eventReason(d.code),
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
    });
  }
  return [...out.values()];
}

export interface EventRecorderOptions {
  core: CoreV1Api;
  log: Logger;
  /** `reportingInstance`: which controller replica sent it (the pod name). */
  instance: string;
  backoff: Backoff;
  coalesceMs: number;
  /** Events sent at once. Default 4. */
  concurrency?: number;
  /** How many sent Events are remembered for bumping on recurrence. Default 10,000. */
  remember?: number;
}

export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #loop: SerialLoop;
  /** Problems as of the last sync. */
  #active = new Map<string, ServiceProblem>();
  /** Active problems not reported yet (new, come back, or failed to send). */
  readonly #pending = new Map<string, ServiceProblem>();
  /** Events known to exist, with their count when this controller knows it. Oldest first. */
  readonly #sent = new Map<string, { count: number | undefined }>();

  constructor(options: EventRecorderOptions) {
    this.#options = options;
    this.#loop = new SerialLoop(() => this.#send(), {
      name: 'events', coalesceMs: options.coalesceMs, backoff: options.backoff, log: options.log,
    });
  }

  /** The problems present now: new ones are reported, gone ones forgotten until they return. */
  sync(problems: readonly ServiceProblem[]): void {
    const next = new Map(problems.map((p) => [p.eventName, p]));
    for (const [name, p] of next) if (!this.#active.has(name)) this.#pending.set(name, p);
    for (const name of this.#pending.keys()) if (!next.has(name)) this.#pending.delete(name);
    this.#active = next;
    if (this.#pending.size > 0) this.#loop.trigger();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #send(): Promise<RunOutcome> {
    let failed = false;
    await forEachLimit([...this.#pending.values()], this.#options.concurrency ?? 4, async (p) => {
      try {
        await this.#report(p);
        if (this.#pending.get(p.eventName) === p) this.#pending.delete(p.eventName);
      } catch (e) {
        const f = requestFailure(e);
        if (!f) throw e;
        failed = true;
        this.#options.log.warn({ verb: f.verb, kind: 'Event', namespace: p.namespace, name: p.eventName, service: p.service, status: f.status }, (e as Error).message);
      }
    });
    return failed ? 'retry' : 'done';
  }

  async #report(p: ServiceProblem): Promise<void> {
    const { core } = this.#options;
    const target = (verb: 'create' | 'patch') => ({ verb, kind: 'Event', namespace: p.namespace, name: p.eventName });
    const known = this.#sent.get(p.eventName);
    if (known) {
      // The problem went away and came back: the Event says so instead of a second one.
      const count = known.count === undefined ? undefined : known.count + 1;
      const body = { lastTimestamp: timestamp(), message: p.message, ...(count === undefined ? {} : { count }) };
      try {
        await kubeCall(target('patch'), () => core.patchNamespacedEvent(
          { namespace: p.namespace, name: p.eventName, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
        this.#remember(p.eventName, count);
        return;
      } catch (e) {
        // Expired (Events live an hour by default): make it again.
        if (!failedWith(e, 404)) throw e;
      }
    }
    const now = new Date();
    const event: CoreV1Event = {
      metadata: { name: p.eventName, namespace: p.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Service', namespace: p.namespace, name: p.service, uid: p.uid },
      type: 'Warning',
      reason: p.reason,
      message: p.message,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: EVENT_COMPONENT },
      reportingComponent: EVENT_REPORTING_CONTROLLER,
      reportingInstance: this.#options.instance,
    };
    try {
      await kubeCall(target('create'), () => core.createNamespacedEvent({ namespace: p.namespace, body: event }));
      this.#remember(p.eventName, 1);
      this.#options.log.info({ namespace: p.namespace, service: p.service, reason: p.reason, event: p.eventName }, p.message);
    } catch (e) {
      // Reported before (by this controller before a restart, or by another replica).
      if (!failedWith(e, 409)) throw e;
      this.#remember(p.eventName, undefined);
    }
  }

  #remember(name: string, count: number | undefined): void {
    this.#sent.delete(name);
    this.#sent.set(name, { count });
    const limit = this.#options.remember ?? 10_000;
    for (const oldest of this.#sent.keys()) {
      if (this.#sent.size <= limit) break;
      this.#sent.delete(oldest);
    }
  }
}

/** RFC 3339 in seconds, as the API server writes metav1.Time. */
function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
