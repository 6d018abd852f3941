/**
 * Dialing one cluster for one accepted TCP connection: pick an endpoint, connect within the
 * cluster's dial timeout, and on failure report it and try another endpoint. Nothing has been
 * forwarded yet at this stage, so a retry is always safe.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { EndpointHandle, L4Cluster, L4Observer } from '../types.ts';
import type { PortId } from '../../table/index.ts';
import { trackBackendSocket } from '../overload.ts';

/** Endpoints tried per connection before the client is turned away. */
export const MAX_DIAL_ATTEMPTS = 3;

/** TCP keepalive on both legs, so a peer that vanished without a FIN or RST is found out. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

/**
 * Called once: with the connected socket and its endpoint (acquired on the picker; the caller
 * releases it), or with `undefined` when no endpoint could be reached.
 */
export type DialDone = (upstream: Socket | undefined, endpoint: EndpointHandle | undefined) => void;

function noop(): void {}

function failureReason(err: NodeJS.ErrnoException): 'refused' | 'timeout' | 'error' {
  if (err.code === 'ECONNREFUSED') return 'refused';
  if (err.code === 'ETIMEDOUT') return 'timeout';
  return 'error';
}

/**
 * Starts dialing and returns a function that abandons the dial (the client went away). `done`
 * may be called synchronously when the cluster has no endpoint.
 */
export function dialCluster(routeId: PortId, cluster: L4Cluster, observer: L4Observer, done: DialDone): () => void {
  const picker = cluster.picker;
  let tried: Set<EndpointHandle> | undefined;
  let socket: Socket | undefined;
  let endpoint: EndpointHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempts = 0;
  let finished = false;

  const dropAttempt = (): void => {
    clearTimeout(timer);
    socket!.removeListener('connect', onConnect);
    socket!.removeListener('error', onError);
    // A late error from the abandoned socket must not become an uncaught exception.
    socket!.on('error', noop);
    socket!.destroy();
    picker.release(endpoint!);
  };

  const fail = (reason: 'refused' | 'timeout' | 'error'): void => {
    const ep = endpoint!;
    dropAttempt();
    picker.reportFailure(ep);
    observer.connectError(routeId, cluster.id, reason);
    (tried ??= new Set()).add(ep);
    if (attempts >= MAX_DIAL_ATTEMPTS) {
      finished = true;
      done(undefined, undefined);
    } else {
      attempt();
    }
  };

  function onConnect(): void {
    clearTimeout(timer);
    socket!.removeListener('error', onError);
    finished = true;
    picker.reportSuccess(endpoint!);
    done(socket, endpoint);
  }

  function onError(err: NodeJS.ErrnoException): void {
    fail(failureReason(err));
  }

  function onTimeout(): void {
    fail('timeout');
  }

  function attempt(): void {
    const ep = picker.size > 0 ? picker.pick(undefined, tried) : undefined;
    // The picker hands back an already-tried endpoint only when nothing else is left.
    if (ep === undefined || tried?.has(ep)) {
      if (attempts === 0) observer.connectError(routeId, cluster.id, 'no-endpoint');
      finished = true;
      done(undefined, undefined);
      return;
    }
    attempts++;
    endpoint = ep;
    picker.acquire(ep);
    socket = connect({
      host: ep.address,
      port: ep.port,
      allowHalfOpen: true,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: KEEPALIVE_INITIAL_DELAY_MS,
    });
    // TCP backends hold fds too: they count against the budget HTTP clients are admitted by.
    trackBackendSocket(socket);
    timer = setTimeout(onTimeout, cluster.dialTimeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
  }

  attempt();

  return () => {
    if (finished) return;
    finished = true;
    dropAttempt();
  };
}
