/**
 * Where the convergence bench's changes come from: straight into the publisher (here), which
 * measures publish -> coalesce -> watch stream -> proxy validate/apply -> ack; or writes to a
 * fake API server that the real controller watches and translates (convergence-api-source.ts),
 * which covers the whole path.
 */
import type { Publisher, TableContent } from '../src/controller/push/publisher.ts';
import type { RoutingTable } from '../src/table/index.ts';
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
  /**
   * Whether a published table includes change `n` (the latest one). A source whose versions can
   * come from something else (the controller's own shadow writes) says which one to wait for;
   * without it the first version after the change counts.
   */
  contains?(table: RoutingTable, n: number): boolean;
  /** When the source handed content to publish() (performance.timeOrigin-based ms), oldest first: the end of watch and translation. */
  readonly publishCalls?: readonly number[];
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
