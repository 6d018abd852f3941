/**
 * What translation reads from: the Kubernetes API (kubernetes.ts) or a directory of manifests
 * (manifests.ts). Both implement this, so the controller, standalone and new sources (Gateway
 * API, SMI kinds) are wired the same way.
 */
import type { ClusterState } from '../objects.ts';
import type { Diagnostic } from '../translation/types.ts';

export interface Source {
  /**
   * Starts reading. The manifests source reads once, strictly, and rejects when it cannot; the
   * Kubernetes source returns at once and retries failures itself.
   */
  start(): Promise<void>;
  /** Resolves once the first complete view is there; rejects when stopped before. */
  readonly synced: Promise<void>;
  /** The latest view: shared and read-only, the same object until something changes. */
  current(): ClusterState;
  /** Problems with what was read (files that are not YAML, objects of the wrong shape), sorted. */
  diagnostics(): readonly Diagnostic[];
  /** Calls `listener` after every change of current(); returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
  stop(): Promise<void>;
}
