/** Mirroring (`RouteEntry.mirror`): copies of a share of requests sent to another Service. */
import type { PortId } from '../types.ts';
import type { RoutePolicy } from './policy.ts';

export interface MirrorPolicy {
  cluster: PortId;
  /** 0-100, may be fractional. */
  percent: number;
}

export const MIRROR: RoutePolicy<'mirror'> = {
  field: 'mirror',
  httpOnly: true,
  validate: (v, check) => {
    const m = check.c.object(v, check.path);
    if (!m) return;
    check.cluster(m.cluster, check.path);
    check.c.number(m.percent, `${check.path}.percent`, 0, 100);
  },
};
