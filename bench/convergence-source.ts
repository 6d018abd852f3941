/**
 * Where the convergence bench's changes come from. Today: straight into the publisher, which
 * measures publish -> coalesce -> watch stream -> proxy validate/apply -> ack. A source that
 * writes Services to a (fake) API server and lets the informers and translation call
 * `publish()` plugs in here unchanged, and the same numbers then cover the whole path.
 */
import type { Publisher, TableContent } from '../src/controller/push/publisher.ts';
import { changed, content } from '../test/controller/push-fixtures.ts';

export interface ChangeSource {
  readonly name: string;
  /** Sets up `services` services and publishes them; resolves once a table of that size is published. */
  prepare(services: number): Promise<void>;
  /**
   * Makes change number `n` (1, 2, ...). The bench starts its clock just before this call and
   * stops it when every proxy has acked the first version published after the call started.
   */
  change(n: number): Promise<void>;
  close(): Promise<void>;
}

/** Changes made by calling `publisher.publish()` with one endpoint moved, as an EndpointSlice update would. */
export function publisherSource(publisher: Publisher): ChangeSource {
  let base: TableContent = content(0);
  return {
    name: 'publish() directly',
    async prepare(services) {
      base = content(services);
      publisher.publish(base);
      publisher.flush();
    },
    async change(n) {
      publisher.publish(changed(base, n));
    },
    async close() {},
  };
}
