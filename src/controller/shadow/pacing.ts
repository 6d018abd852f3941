/**
 * How bulk shadow Service writes are paced (a first install, a namespace of Services created at
 * once): at most `concurrency` requests in flight, and request starts at least 1 / `perSecond`
 * apart. Kept apart from the writer so the CLI's flag table can show the defaults without
 * loading the Kubernetes client.
 *
 * Why these numbers (docs/operations.md, "Install time in a large cluster"): with API Priority
 * and Fairness on (the default), the controller's ServiceAccount falls in the `workload-low`
 * priority level (FlowSchema `service-accounts`), which a default kube-apiserver gives 245 of
 * its 600 concurrent seats; 8 in flight take 3 % of them, and APF queues rather than refuses
 * what goes beyond the level's share. The rate bounds the watch events every Service watcher
 * (kube-proxy on each node, CoreDNS) receives while a large mesh is installed.
 */

export interface WritePacing {
  /** Requests in flight at most (1 or more). */
  concurrency: number;
  /** Requests started per second at most; 0 (or Infinity): not paced. */
  perSecond: number;
}

/** 8 in flight, at most 200 a second: 10,000 new shadows take 50 s at least. */
export const DEFAULT_WRITE_PACING: WritePacing = { concurrency: 8, perSecond: 200 };

/** A start time for each request, `1000 / perSecond` ms apart (the first at once). */
export function pacer(perSecond: number): () => Promise<void> {
  const gap = perSecond > 0 && Number.isFinite(perSecond) ? 1000 / perSecond : 0;
  let next = 0;
  return async () => {
    const now = performance.now();
    const at = Math.max(now, next);
    next = at + gap;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  };
}
