/** The intermediate model translation builds from cluster objects before emitting a table. */
import type { Endpoint, PortId, ServiceId, TrafficType } from '../../table/index.ts';
import type { ServiceSettings } from './annotations/settings.ts';

export interface MeshedPort {
  id: PortId;
  /** Service port name ('' when unnamed). */
  name: string;
  port: number;
  protocol: TrafficType;
  appProtocol?: string;
  endpoints: Endpoint[];
}

/** A Service that is in the mesh, with its effective settings (valid now, last good, or defaults). */
export interface MeshedService {
  id: ServiceId;
  namespace: string;
  name: string;
  settings: ServiceSettings;
  /** Sorted by port number; one per number. */
  ports: MeshedPort[];
}

/** Why a Service that names another one (split, mirror) cannot use it. */
export type ServiceLookup = (namespace: string, name: string) => MeshedService | 'missing' | 'not-meshed';
