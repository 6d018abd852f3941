/**
 * Writing shadow Services, and the view of the mesh namespace the writes are planned from.
 *
 * The view is the informer's cache with the controller's own successful writes laid over it
 * until the informer has caught up with them, so a plan made right after a write does not
 * repeat it (a duplicate create, an update from a stale resourceVersion). An entry is dropped
 * as soon as the informer's object for that name moves off the version it had when the write
 * was made: from then on the informer has seen the write (or something newer). `forget()` (on
 * resync) drops them all, bounding how long a write the informer never reports can hide.
 *
 * Writes carry what they were computed from: updates the resourceVersion, deletes the uid as a
 * precondition. A 409 or 404 means the view was stale: the object is read again, laid over the
 * view, and the caller plans again. Other failures are reported for a retry with backoff.
 */
import type { CoreV1Api, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { SHADOW_OF_ANNOTATION } from '../constants.ts';
import type { ServiceObject } from '../objects.ts';
import { forEachLimit } from '../kube/loop.ts';
import { describeTarget, failedWith, kubeCall, requestFailure } from '../kube/errors.ts';
import type { KubeTarget } from '../kube/errors.ts';
import type { ShadowDiff } from './diff.ts';
import { DEFAULT_WRITE_PACING, pacer } from './pacing.ts';
import type { WritePacing } from './pacing.ts';

interface OwnWrite {
  /** The object as the server returned it; undefined when it was deleted. */
  object: ServiceObject | undefined;
  /** The informer's resourceVersion for the name before the write (undefined: absent). */
  before: string | undefined;
}

/** Something the informer caches Services in. */
export interface ServiceCache {
  list(): ServiceObject[];
  get(name: string, namespace: string): ServiceObject | undefined;
}

export class MeshNamespaceView {
  readonly #cache: ServiceCache;
  readonly #namespace: string;
  readonly #own = new Map<string, OwnWrite>();
  #version = 0;

  constructor(cache: ServiceCache, namespace: string) {
    this.#cache = cache;
    this.#namespace = namespace;
  }

  /** Changes whenever what services() returns may have changed: lets callers reuse what they derived from it. */
  get version(): number {
    return this.#version;
  }

  /** The informer's cache changed. */
  changed(): void {
    this.#version++;
  }

  /** Every Service of the mesh namespace as the controller last knew it. */
  services(): ServiceObject[] {
    if (this.#own.size === 0) return this.#cache.list();
    const out = new Map(this.#cache.list().map((s) => [s.metadata.name, s]));
    for (const [name, write] of this.#own) {
      if (out.get(name)?.metadata.resourceVersion !== write.before) {
        this.#own.delete(name);
        continue;
      }
      if (write.object) out.set(name, write.object);
      else out.delete(name);
    }
    return [...out.values()];
  }

  get(name: string): ServiceObject | undefined {
    const cached = this.#cache.get(name, this.#namespace);
    const write = this.#own.get(name);
    if (!write) return cached;
    if (cached?.metadata.resourceVersion !== write.before) {
      this.#own.delete(name);
      return cached;
    }
    return write.object;
  }

  /** The resourceVersion the informer has for `name` now: pass it to record() after the write. */
  versionBefore(name: string): string | undefined {
    return this.#cache.get(name, this.#namespace)?.metadata.resourceVersion;
  }

  record(name: string, object: ServiceObject | undefined, before: string | undefined): void {
    this.#own.set(name, { object, before });
    this.#version++;
  }

  forget(): void {
    if (this.#own.size > 0) this.#version++;
    this.#own.clear();
  }
}

export interface ShadowWriteFailure {
  target: KubeTarget;
  message: string;
}

export interface ShadowWriteResult {
  /** Creates, updates and deletes that succeeded. */
  written: number;
  /** Some object was re-read after a conflict or a 404: plan again. */
  again: boolean;
  failures: ShadowWriteFailure[];
}

/** Objects from client-node carry Dates; the informer's are plain JSON: keep one shape. */
function plain(obj: V1Service): ServiceObject {
  return JSON.parse(JSON.stringify(obj)) as ServiceObject;
}

/** Creates, updates and deletes the shadows of `diff`, paced by `pacing`. */
export async function writeShadows(
  api: CoreV1Api,
  namespace: string,
  diff: ShadowDiff,
  view: MeshNamespaceView,
  log: Logger,
  pacing: WritePacing = DEFAULT_WRITE_PACING,
): Promise<ShadowWriteResult> {
  const pace = pacer(pacing.perSecond);
  const result: ShadowWriteResult = { written: 0, again: false, failures: [] };
  const target = (verb: KubeTarget['verb'], name: string): KubeTarget => ({ verb, kind: 'Service', namespace, name });

  const failed = (e: unknown): void => {
    const f = requestFailure(e);
    if (!f) throw e;
    const message = (e as Error).message;
    log.warn({ verb: f.verb, kind: f.kind, namespace: f.namespace, name: f.name, status: f.status }, message);
    result.failures.push({ target: { verb: f.verb, kind: f.kind, namespace: f.namespace, name: f.name }, message });
  };
  const reread = async (name: string): Promise<void> => {
    const before = view.versionBefore(name);
    try {
      const fresh = await kubeCall(target('get', name), () => api.readNamespacedService({ namespace, name }));
      view.record(name, plain(fresh), before);
    } catch (e) {
      if (!failedWith(e, 404)) return failed(e);
      view.record(name, undefined, before);
    }
    result.again = true;
  };
  const write = async (verb: 'create' | 'update' | 'delete', svc: ServiceObject): Promise<void> => {
    const name = svc.metadata.name;
    const before = view.versionBefore(name);
    try {
      if (verb === 'create') {
        view.record(name, plain(await kubeCall(target(verb, name), () => api.createNamespacedService({ namespace, body: svc as V1Service }))), before);
      } else if (verb === 'update') {
        view.record(name, plain(await kubeCall(target(verb, name), () => api.replaceNamespacedService({ namespace, name, body: svc as V1Service }))), before);
      } else {
        const preconditions = svc.metadata.uid === undefined ? undefined : { uid: svc.metadata.uid };
        await kubeCall(target(verb, name), () => api.deleteNamespacedService({ namespace, name, body: { preconditions } }));
        view.record(name, undefined, before);
      }
      result.written++;
      log.debug({ verb, namespace, name, shadowOf: svc.metadata.annotations?.[SHADOW_OF_ANNOTATION] }, `${describeTarget(target(verb, name))}: done`);
    } catch (e) {
      if (verb === 'delete' && failedWith(e, 404)) {
        view.record(name, undefined, before);
        return;
      }
      if (failedWith(e, 409) || failedWith(e, 404)) {
        log.debug({ verb, namespace, name }, 'the shadow changed meanwhile; reading it again');
        await reread(name);
        return;
      }
      failed(e);
    }
  };

  const ops = [
    ...diff.create.map((svc) => ['create', svc] as const),
    ...diff.update.map((svc) => ['update', svc] as const),
    ...diff.delete.map((svc) => ['delete', svc] as const),
  ];
  await forEachLimit(ops, pacing.concurrency, async ([verb, svc]) => {
    await pace();
    await write(verb, svc);
  });
  return result;
}
