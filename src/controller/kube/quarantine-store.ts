/**
 * Where the controller keeps its port quarantine (../translation/translator.ts)
 * between runs: an annotation on a Lease of its own in the mesh namespace, read before the
 * first translation and written whenever the set of quarantined ports changes. So a restarted
 * controller, or a newly elected leader, does not hand a freshly freed port to another Service.
 *
 * A Lease because the controller already may read and write Leases there (leader election):
 * no new permission, with or without `--leader-elect`. Nobody holds it; it only carries the
 * annotation, `{"<proxy port>": "<RFC 3339 time it was freed>"}`.
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import { errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { formatQuarantine, parseQuarantine } from '../translation/quarantine-text.ts';
import { kubeCall, requestFailure } from './errors.ts';

export const QUARANTINE_LEASE = 'hostmesh-port-quarantine';
export const QUARANTINE_ANNOTATION = 'hostmesh.io/port-quarantine';

export class QuarantineStore {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #log: Logger;
  /** The Lease as last read or written (its resourceVersion guards the next write). */
  #lease: V1Lease | undefined;
  #writing: Promise<void> = Promise.resolve();
  /** What the Lease holds (an absent Lease holds an empty quarantine: nothing to write). */
  #written = '{}';

  constructor(kubeConfig: KubeConfig, namespace: string, log: Logger) {
    this.#api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.#namespace = namespace;
    this.#log = log;
  }

  get #where(): string {
    return `Lease ${this.#namespace}/${QUARANTINE_LEASE}`;
  }

  /** The quarantine a previous run left; empty when there is none or it cannot be read (logged). */
  async load(): Promise<Map<number, number>> {
    let lease: V1Lease;
    try {
      lease = await kubeCall({ verb: 'get', kind: 'Lease', namespace: this.#namespace, name: QUARANTINE_LEASE }, () => this.#api.readNamespacedLease({ name: QUARANTINE_LEASE, namespace: this.#namespace }));
    } catch (e) {
      if (requestFailure(e)?.status !== 404) this.#log.warn({ err: errorMessage(e) }, `port quarantine: could not read ${this.#where}; freed ports of a previous run are not known`);
      return new Map();
    }
    this.#lease = lease;
    const text = lease.metadata?.annotations?.[QUARANTINE_ANNOTATION];
    if (text === undefined) return new Map();
    const { freed, skipped } = parseQuarantine(text);
    if (skipped.length > 0) this.#log.warn({ skipped }, `port quarantine: ${this.#where} annotation ${QUARANTINE_ANNOTATION} has entries that are not a port and a time; they are ignored`);
    this.#written = formatQuarantine(freed);
    return freed;
  }

  /** Writes the quarantine when it differs from what was last written; writes run one at a time. */
  save(freed: ReadonlyMap<number, number>): Promise<void> {
    const text = formatQuarantine(freed);
    this.#writing = this.#writing.then(() => (text === this.#written ? undefined : this.#write(text)));
    return this.#writing;
  }

  /** Resolves once the writes asked for so far are done, or after `maxMs` (stopping must not hang on the API server). */
  idle(maxMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => { timer = setTimeout(resolve, maxMs); });
    return Promise.race([this.#writing, cap]).finally(() => clearTimeout(timer));
  }

  async #write(text: string): Promise<void> {
    const name = QUARANTINE_LEASE;
    const namespace = this.#namespace;
    const annotations = { ...this.#lease?.metadata?.annotations, [QUARANTINE_ANNOTATION]: text };
    try {
      if (this.#lease === undefined) {
        const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, annotations }, spec: {} };
        this.#lease = await kubeCall({ verb: 'create', kind: 'Lease', namespace, name }, () => this.#api.createNamespacedLease({ namespace, body }));
      } else {
        const body: V1Lease = { ...this.#lease, metadata: { ...this.#lease.metadata, name, namespace, annotations } };
        this.#lease = await kubeCall({ verb: 'update', kind: 'Lease', namespace, name }, () => this.#api.replaceNamespacedLease({ name, namespace, body }));
      }
      this.#written = text;
    } catch (e) {
      // A conflict (another writer) or a Lease created meanwhile: read it again for the next write.
      this.#lease = undefined;
      const status = requestFailure(e)?.status;
      if (status === 409) await this.load();
      // Whatever the Lease holds now, the next save writes.
      this.#written = '';
      this.#log.warn({ err: errorMessage(e) }, `port quarantine: could not write ${this.#where}; it is written again with the next change`);
    }
  }
}
