/**
 * `hostmesh controller`: the Controller (cluster -> tables, shadows, Events, DNS patch), the
 * Publisher (numbered, coalesced versions) and the controller API (watch, ack, status, health,
 * metrics), wired together. The API listens before the informers have synced, so kubelet's
 * liveness probe passes while a slow API server is listed; `/readyz` waits for the first table.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { errorMessage, HostmeshError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { Controller } from '../controller/controller.ts';
import { Publisher } from '../controller/push/publisher.ts';
import { PushServer } from '../controller/push/server.ts';
import type { PushServerOptions } from '../controller/push/server.ts';
import type { Backoff } from '../controller/kube/loop.ts';
import { createDashboard } from '../controller/dashboard/server.ts';
import { createLiveApi } from '../controller/live/api.ts';
import { LiveHub } from '../controller/live/hub.ts';
import type { LiveHubOptions } from '../controller/live/hub.ts';
import type { ControllerStatus, StatusDiagnostic } from '../table/index.ts';
import { LeaderElector } from '../controller/leader/election.ts';
import type { LeaseTimings } from '../controller/leader/election.ts';
import type { HostPort } from './args.ts';
import type { WritePacing } from '../controller/shadow/pacing.ts';

export interface ControllerCommandOptions {
  listen: HostPort;
  token: string;
  kubeConfig: KubeConfig;
  meshNamespace: string;
  proxySelector: Readonly<Record<string, string>>;
  zones: readonly string[];
  portRange: readonly [number, number];
  watchNamespaces?: readonly string[] | undefined;
  ignoreNamespaces?: readonly string[] | undefined;
  patchDns: boolean;
  dnsService?: string | undefined;
  /** ACL mode: SMI TrafficTargets decide who may use each mesh port (docs/smi.md). */
  acl?: boolean | undefined;
  /**
   * Run as one of several replicas: only the holder of the Lease `hostmesh-controller` in the
   * mesh namespace runs the controller; the others keep the API up as standbys.
   */
  leaderElection?: { identity: string; address?: string; timings?: Partial<LeaseTimings> };
  /** Pacing of shadow Service writes (--shadow-write-rate, --shadow-write-concurrency). */
  shadowWrites?: WritePacing | undefined;
  log: Logger;
  /** Timings for tests and benches; every default is the documented one. */
  tuning?: {
    /** Publisher: quiet time and longest delay of a burst. */
    coalesceMs?: number;
    maxDelayMs?: number;
    heartbeatMs?: number;
    /** Controller: retries of informers and writes, resync period, translation coalescing. */
    backoff?: Backoff;
    resyncMs?: number;
    translateCoalesceMs?: number;
    /** How often an absent CRD is looked for again (default 30 s). */
    crdPollMs?: number;
    /** Events' reportingInstance (default: the host name). */
    instance?: string;
    /** Live stats: report intervals asked of proxies, window. */
    live?: LiveHubOptions;
  };
}

export interface RunningController {
  /** The running controller; with leader election, undefined while this replica stands by. */
  readonly controller: Controller | undefined;
  /** With leader election: the elector (who leads, whether this replica does). */
  readonly elector: LeaderElector | undefined;
  readonly publisher: Publisher;
  readonly api: PushServer;
  /** Live stats from the proxies' reports, and tap sessions. */
  readonly live: LiveHub;
  /** Base URL of the API, e.g. http://127.0.0.1:8440. */
  readonly url: string;
  readonly port: number;
  /** Resolves once the first table is published (rejects if closed before). */
  readonly ready: Promise<void>;
  /** Stops; a leader releases its Lease unless `release` is false (a crash, in tests). */
  close(options?: { release?: boolean }): Promise<void>;
}

/** The controller API with the controller's own problems (shadows, DNS) in `/v1/status`, not only translation's. */
class ControllerApi extends PushServer {
  readonly #diagnostics: () => StatusDiagnostic[];


  constructor(options: PushServerOptions, diagnostics: () => StatusDiagnostic[]) {
    super(options);
    this.#diagnostics = diagnostics;
  }

  override status(): ControllerStatus {
    return { ...super.status(), diagnostics: this.#diagnostics() };
  }
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function badSelector(text: string, why: string): HostmeshError {
  return new HostmeshError('CLI_USAGE', `--proxy-selector: "${text}" ${why} (expected K=V,... with label keys and values, e.g. app.kubernetes.io/name=hostmesh,app.kubernetes.io/component=proxy)`);
}

/** Parses `K=V,K2=V2` into labels, checking Kubernetes label syntax. Throws CLI_USAGE. */
export function parseProxySelector(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const raw of text.split(',')) {
    const part = raw.trim();
    const eq = part.indexOf('=');
    if (eq < 0) throw badSelector(text, `has "${part}" without "="`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    const slash = key.lastIndexOf('/');
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = slash < 0 ? key : key.slice(slash + 1);
    if (!LABEL_NAME.test(name) || (prefix !== undefined && (prefix.length > 253 || !LABEL_PREFIX.test(prefix)))) {
      throw badSelector(text, `has "${key}", which is not a label key`);
    }
    if (value === '' || !LABEL_NAME.test(value)) throw badSelector(text, `has "${value}" for ${key}, which is not a label value`);
    if (Object.hasOwn(labels, key)) throw badSelector(text, `names ${key} twice`);
    labels[key] = value;
  }
  return labels;
}

export async function startControllerCommand(opts: ControllerCommandOptions): Promise<RunningController> {
  const { log, tuning = {} } = opts;
  const publisher = new Publisher({
    ...(tuning.coalesceMs === undefined ? {} : { coalesceMs: tuning.coalesceMs }),
    ...(tuning.maxDelayMs === undefined ? {} : { maxDelayMs: tuning.maxDelayMs }),
  });
  const makeController = (): Controller => new Controller({
    kubeConfig: opts.kubeConfig,
    meshNamespace: opts.meshNamespace,
    proxySelector: opts.proxySelector,
    zones: opts.zones,
    portRange: opts.portRange,
    ...(opts.watchNamespaces && opts.watchNamespaces.length > 0 ? { watchNamespaces: opts.watchNamespaces } : {}),
    ...(opts.ignoreNamespaces ? { ignoreNamespaces: opts.ignoreNamespaces } : {}),
    patchDns: opts.patchDns,
    ...(opts.acl === true ? { acl: true } : {}),
    ...(opts.dnsService === undefined ? {} : { dnsService: opts.dnsService }),
    ...(opts.shadowWrites === undefined ? {} : { shadowWrites: opts.shadowWrites }),
    publish: (content, diagnostics, changes) => publisher.publish(content, diagnostics, changes),
    log,
    ...(tuning.backoff ? { backoff: tuning.backoff } : {}),
    ...(tuning.resyncMs === undefined ? {} : { resyncMs: tuning.resyncMs }),
    ...(tuning.translateCoalesceMs === undefined ? {} : { coalesceMs: tuning.translateCoalesceMs }),
    ...(tuning.instance === undefined ? {} : { instance: tuning.instance }),
    ...(tuning.crdPollMs === undefined ? {} : { crdPollMs: tuning.crdPollMs }),
  });
  // The controller is built first so bad options fail before anything listens.
  let controller: Controller | undefined = makeController();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const live = new LiveHub(tuning.live);
  const liveApi = createLiveApi({ hub: live, token: opts.token, log: log.child({ component: 'live' }) });
  const dashboard = createDashboard({
    source: {
      table: () => publisher.current?.table,
      proxies: () => api.status().proxies,
      diagnostics: () => controller?.diagnostics() ?? [],
      live: () => live.stats(),
    },
    token: opts.token,
    log: log.child({ component: 'dashboard' }),
  });
  const api: ControllerApi = new ControllerApi({
    publisher,
    token: opts.token,
    log: log.child({ component: 'api' }),
    registry,
    ...(tuning.heartbeatMs === undefined ? {} : { heartbeatMs: tuning.heartbeatMs }),
    extra: (req, res, path, search) => liveApi(req, res, path, search) || dashboard(req, res, path, search),
  }, () => controller?.diagnostics() ?? []);

  let port: number;
  try {
    port = (await api.listen(opts.listen.port, opts.listen.host)).port;
  } catch (e) {
    dashboard.close();
    await api.close();
    publisher.close();
    throw new HostmeshError('CONTROLLER_LISTEN', `cannot listen on ${opts.listen.host}:${opts.listen.port} for the controller API: ${errorMessage(e)}`);
  }

  let resolveReady: () => void = () => {};
  let rejectReady: (e: unknown) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.then(() => {
    const t = publisher.current?.table;
    log.info({ epoch: publisher.epoch, version: t?.version, listeners: t?.listeners.length, clusters: t?.clusters.length }, 'first routing table published; ready');
  }, () => {});
  publisher.subscribe((p) => log.debug({ version: p.table.version, listeners: p.table.listeners.length }, 'routing table published'));
  const run = (c: Controller): void => {
    c.start().then(resolveReady, (e: unknown) => { if (!elector) rejectReady(e); });
  };

  let elector: LeaderElector | undefined;
  let stopping: Promise<void> = Promise.resolve();
  if (opts.leaderElection === undefined) {
    run(controller);
  } else {
    // Standby until elected: the API answers (503 to watches, not ready), nothing is written.
    controller = undefined;
    const standby = (): string => `standby: ${elector?.leader === undefined ? 'no replica holds the leader Lease yet' : `the leader is ${elector.leader}`}`;
    api.standby = standby;
    api.leaderUrl = () => {
      const a = elector?.leaderAddress;
      return a !== undefined && a !== '' && !elector?.isLeader ? a : undefined;
    };
    elector = new LeaderElector({
      kubeConfig: opts.kubeConfig,
      namespace: opts.meshNamespace,
      identity: opts.leaderElection.identity,
      ...(opts.leaderElection.address === undefined ? {} : { address: opts.leaderElection.address }),
      ...(opts.leaderElection.timings ? { timings: opts.leaderElection.timings } : {}),
      log,
      onStartedLeading: () => {
        // A replica that led before stopped its controller first: it starts over from the
        // cluster and the shadows (ports are read back from them, so none moves).
        void stopping.then(() => {
          if (!elector?.isLeader) return;
          controller = makeController();
          api.standby = undefined;
          run(controller);
        });
      },
      onStoppedLeading: () => {
        const c = controller;
        controller = undefined;
        // Proxies go to the new leader: their streams end now, and this replica stops writing.
        api.standby = standby;
        if (c !== undefined) stopping = c.stop();
      },
    });
    elector.start();
  }

  const host = opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host;
  let closing: Promise<void> | undefined;
  return {
    get controller() {
      return controller;
    },
    elector,
    publisher,
    api,
    live,
    port,
    url: `http://${host}:${port}`,
    ready,
    close: (options = {}) => {
      closing ??= (async () => {
        const c = controller;
        controller = undefined;
        await c?.stop();
        await stopping;
        await elector?.stop(options.release ?? true);
        rejectReady(new HostmeshError('CONTROLLER_STOPPED', 'the controller was stopped before it published its first table'));
        dashboard.close();
        // Ends every watch stream cleanly: proxies reconnect (to the next controller) with backoff.
        await api.close();
        publisher.close();
      })();
      return closing;
    },
  };
}
