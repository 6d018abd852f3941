/**
 * The standalone source: Services, EndpointSlices, Pods, SMI objects and the Gateway API's
 * HTTPRoute, GRPCRoute and ReferenceGrant read from a directory of multi-document YAML files
 * (`*.yaml`, `*.yml`, recursively), re-read when files change.
 *
 * At start an unreadable directory or file, or a file that is not YAML, is an error the CLI
 * prints as one line. Later, such a file is reported as a diagnostic and its last good objects
 * are kept, so an editor's half-saved file never takes routes away. Changes are picked up by
 * fs.watch (debounced) with a periodic rescan as a safety net (watchers miss events on some
 * filesystems and when directories are swapped).
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { HostmeshError, errorMessage } from '../../common/errors.ts';
import { createLogger } from '../../common/log.ts';
import type { Logger } from '../../common/log.ts';
import type {
  ClusterState, CustomObject, EndpointSliceObject, GatewayRouteObject, ObjectMeta, PodObject, ReferenceGrantObject, ServiceObject,
} from '../objects.ts';
import { isSmiKind } from '../translation/smi/parse.ts';
import { diagnostic, sortDiagnostics } from '../translation/diagnostics.ts';
import type { Diagnostic } from '../translation/types.ts';
import type { Source } from './source.ts';

export interface ManifestSnapshot {
  state: ClusterState;
  /** Problems with files and objects, sorted; empty when everything was read. */
  diagnostics: Diagnostic[];
  /** Manifest files read. */
  files: number;
}

/** One object taken from a file, with where it came from. */
interface Located<T> {
  object: T;
  line: number;
}

export interface ParsedManifests {
  services: Located<ServiceObject>[];
  endpointSlices: Located<EndpointSliceObject>[];
  httpRoutes: Located<GatewayRouteObject>[];
  grpcRoutes: Located<GatewayRouteObject>[];
  referenceGrants: Located<ReferenceGrantObject>[];
  pods: Located<PodObject>[];
  /** SMI objects of every kind and version read (checked in translation, translation/smi/). */
  smi: Located<CustomObject>[];
  /** Objects of kinds this source does not read, for a debug log. */
  ignored: { apiVersion: string; kind: string; line: number }[];
  /** Objects that were skipped (warnings). */
  diagnostics: Diagnostic[];
  /** Set when the file is not valid YAML: nothing from it can be trusted. */
  fatal?: Diagnostic;
}

type ObjectLists = Pick<ParsedManifests, 'services' | 'endpointSlices' | 'httpRoutes' | 'grpcRoutes' | 'referenceGrants' | 'pods' | 'smi'>;
type Sink = ObjectLists & Pick<ParsedManifests, 'ignored'>;

/** The object lists a manifest file can hold, in the order snapshots list them. */
const LISTS = ['services', 'endpointSlices', 'httpRoutes', 'grpcRoutes', 'referenceGrants', 'pods', 'smi'] as const;

/** Checks a Gateway API route's shape (the rules themselves are checked by translation). */
function gatewayRoute(list: 'httpRoutes' | 'grpcRoutes'): KindReader {
  return (value, line, sink) => {
    const problem = checkMeta(value) ?? checkArray(value.spec, 'parentRefs', 'spec.parentRefs') ?? checkArray(value.spec, 'rules', 'spec.rules');
    if (problem) return problem;
    sink[list].push({ object: value as unknown as GatewayRouteObject, line });
    return undefined;
  };
}
type KindReader = (value: Record<string, unknown>, line: number, sink: Sink) => string | undefined;

/**
 * Readers by `apiVersion/kind`. Each checks the shape translation relies on and returns a
 * problem, or adds the object. SMI and Gateway API kinds plug in here.
 */
const KIND_READERS: Readonly<Record<string, KindReader>> = {
  'v1/Service': (value, line, sink) => {
    const problem = checkMeta(value) ?? checkArray(value.spec, 'ports', 'spec.ports');
    if (problem) return problem;
    sink.services.push({ object: value as unknown as ServiceObject, line });
    return undefined;
  },
  'discovery.k8s.io/v1/EndpointSlice': (value, line, sink) => {
    const problem = checkMeta(value) ?? checkArray(value, 'endpoints', 'endpoints') ?? checkArray(value, 'ports', 'ports');
    if (problem) return problem;
    sink.endpointSlices.push({ object: value as unknown as EndpointSliceObject, line });
    return undefined;
  },
  'gateway.networking.k8s.io/v1/HTTPRoute': gatewayRoute('httpRoutes'),
  'gateway.networking.k8s.io/v1/GRPCRoute': gatewayRoute('grpcRoutes'),
  'gateway.networking.k8s.io/v1beta1/ReferenceGrant': (value, line, sink) => {
    const problem = checkMeta(value) ?? checkArray(value.spec, 'from', 'spec.from') ?? checkArray(value.spec, 'to', 'spec.to');
    if (problem) return problem;
    sink.referenceGrants.push({ object: value as unknown as ReferenceGrantObject, line });
    return undefined;
  },
  // Standalone has no pod watch: listing Pods gives consumer routes their clients' namespaces.
  'v1/Pod': (value, line, sink) => {
    const problem = checkMeta(value) ?? checkArray(value.status, 'podIPs', 'status.podIPs');
    if (problem) return problem;
    sink.pods.push({ object: value as unknown as PodObject, line });
    return undefined;
  },
};

/**
 * SMI objects, every kind and version: their fields are checked by translation, which reports
 * problems against the object (the same objects come from the API server).
 */
const SMI_READER: KindReader = (value, line, sink) => {
  const problem = checkMeta(value);
  if (problem) return problem;
  sink.smi.push({ object: value as unknown as CustomObject, line });
  return undefined;
};

/** Parses one file's text. Pure: no I/O, never throws. */
export function parseManifests(path: string, text: string): ParsedManifests {
  const out = emptyParsed();
  const file = { kind: 'File' as const, name: path };
  const lineCounter = new LineCounter();
  let docs;
  try {
    const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (e) {
    out.fatal = diagnostic('error', 'manifest-parse-error', file, `${path}: not valid YAML: ${oneLine(errorMessage(e))}`);
    return out;
  }
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0].line ?? 1;
      out.fatal = diagnostic('error', 'manifest-parse-error', file, `${path}:${line}: not valid YAML: ${oneLine(err.message)}`, { line });
      return out;
    }
  }
  for (const doc of docs) {
    const offset = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lineCounter.linePos(offset).line;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      out.fatal = diagnostic('error', 'manifest-parse-error', file, `${path}:${line}: cannot read the document: ${oneLine(errorMessage(e))}`, { line });
      return out;
    }
    if (value === null || value === undefined) continue;
    readObject(value, path, line, out);
  }
  return out;
}

function readObject(value: unknown, path: string, line: number, out: ParsedManifests): void {
  const file = { kind: 'File' as const, name: path };
  const invalid = (why: string): void => {
    out.diagnostics.push(diagnostic('warning', 'manifest-invalid-object', file, `${path}:${line}: ${why}; the object is skipped`, { line }));
  };
  if (!isRecord(value)) return invalid('the document is not an object');
  const apiVersion = value.apiVersion;
  const kind = value.kind;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return invalid('the object has no apiVersion and kind');
  if (apiVersion === 'v1' && kind === 'List') {
    if (!Array.isArray(value.items)) return invalid('the List has no items');
    for (const item of value.items) readObject(item, path, line, out);
    return;
  }
  // An SMI kind in a version not read still goes to translation, which says which versions are.
  const reader = KIND_READERS[`${apiVersion}/${kind}`] ?? (isSmiKind(apiVersion, kind) ? SMI_READER : undefined);
  if (!reader) {
    out.ignored.push({ apiVersion, kind, line });
    return;
  }
  const name = isRecord(value.metadata) && typeof value.metadata.name === 'string' ? ` ${value.metadata.name}` : '';
  const problem = reader(value, line, out);
  if (problem) invalid(`${kind}${name}: ${problem}`);
}

/** Checks metadata, defaults the namespace, and turns scalar label/annotation values into strings. */
function checkMeta(value: Record<string, unknown>): string | undefined {
  const meta = value.metadata;
  if (!isRecord(meta)) return 'metadata is missing';
  if (typeof meta.name !== 'string' || meta.name === '') return 'metadata.name is missing';
  if (meta.namespace === undefined || meta.namespace === null || meta.namespace === '') meta.namespace = 'default';
  else if (typeof meta.namespace !== 'string') return 'metadata.namespace is not a string';
  for (const field of ['labels', 'annotations'] as const) {
    const map = meta[field];
    if (map === undefined || map === null) {
      delete meta[field];
      continue;
    }
    if (!isRecord(map)) return `metadata.${field} is not a map`;
    for (const [k, v] of Object.entries(map)) {
      // Kubernetes would refuse unquoted numbers and booleans; a hand-written file gets the benefit of the doubt.
      if (typeof v === 'number' || typeof v === 'boolean') map[k] = String(v);
      else if (typeof v !== 'string') return `metadata.${field}.${k} is not a string`;
    }
  }
  return undefined;
}

function checkArray(parent: unknown, field: string, path: string): string | undefined {
  if (!isRecord(parent)) return undefined;
  const v = parent[field];
  if (v === undefined || v === null || Array.isArray(v)) return undefined;
  return `${path} is not a list`;
}

function emptyParsed(): ParsedManifests {
  return { services: [], endpointSlices: [], httpRoutes: [], grpcRoutes: [], referenceGrants: [], pods: [], smi: [], ignored: [], diagnostics: [] };
}

/** A ClusterState with every list empty. */
export function emptyState(): Required<ClusterState> {
  return { services: [], endpointSlices: [], httpRoutes: [], grpcRoutes: [], referenceGrants: [], pods: [], smi: [] };
}

/** The objects of one parsed file as a ClusterState (golden tests, single files). */
export function parsedState(parsed: ParsedManifests): Required<ClusterState> {
  const state = emptyState();
  for (const list of LISTS) (state[list] as unknown[]).push(...parsed[list].map((o) => o.object));
  return state;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first line of a parser message, without the source excerpt it introduces. */
function oneLine(s: string): string {
  return s.split('\n')[0]!.trim().replace(/:$/, '');
}

interface FileEntry {
  text: string;
  parsed: ParsedManifests;
  /** The last parse that was not fatal: what the file contributes. */
  good: ParsedManifests | undefined;
  /** A read problem since the last good read. */
  unreadable?: Diagnostic;
}

const MANIFEST_FILE = /\.ya?ml$/i;
const MAX_DEPTH = 16;

/**
 * The manifest files under `root` (or `root` itself when it is a file), sorted, and the
 * directories they were found in (the ones to watch).
 */
async function listFiles(root: string): Promise<{ files: string[]; dirs: string[] }> {
  const info = await stat(root);
  if (info.isFile()) return { files: [root], dirs: [dirname(root)] };
  const out: string[] = [];
  const dirs: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    dirs.push(dir);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      // Hidden names cover editor swap files and Kubernetes ConfigMap mounts' `..data` copies.
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, depth + 1);
      else if (MANIFEST_FILE.test(entry.name)) {
        if (entry.isFile()) out.push(path);
        // Symbolic links are followed to files only, so a link cycle cannot loop the walk.
        else if (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile()) out.push(path);
      }
    }
  };
  await walk(root, 0);
  return { files: out.toSorted(), dirs };
}

/** The files of a directory, re-read on demand; keeps each file's last good objects. */
class ManifestDirectory {
  readonly #root: string;
  readonly #log: Logger;
  readonly #files = new Map<string, FileEntry>();
  #listingProblem: Diagnostic | undefined;

  /** Why the last listing failed, if it did. */
  get listingProblem(): Diagnostic | undefined {
    return this.#listingProblem;
  }

  /** The directories of the last listing: where files can change. */
  directories: readonly string[] = [];

  constructor(root: string, log: Logger) {
    this.#root = root;
    this.#log = log;
  }

  /** Re-reads every file. `strict` (at start) turns any unreadable or unparseable input into an error. */
  async scan(strict: boolean): Promise<void> {
    let paths: string[];
    try {
      const listing = await listFiles(this.#root);
      paths = listing.files;
      this.directories = listing.dirs;
      this.#listingProblem = undefined;
    } catch (e) {
      const message = `cannot read the manifest directory ${this.#root}: ${errorMessage(e)}`;
      if (strict) throw new HostmeshError('manifests-unreadable', message, { path: this.#root }, { cause: e });
      this.#listingProblem = diagnostic('error', 'manifest-unreadable', { kind: 'File', name: this.#root }, `${message}; the last objects read are kept`);
      return;
    }
    const seen = new Set(paths);
    for (const path of this.#files.keys()) if (!seen.has(path)) this.#files.delete(path);
    for (const path of paths) await this.#read(path, strict);
  }

  async #read(path: string, strict: boolean): Promise<void> {
    const name = this.#display(path);
    const previous = this.#files.get(path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        // Deleted between listing and reading: it is gone.
        this.#files.delete(path);
        return;
      }
      const message = `${name}: cannot read the file: ${errorMessage(e)}`;
      if (strict) throw new HostmeshError('manifests-unreadable', message, { path }, { cause: e });
      const unreadable = diagnostic('error', 'manifest-unreadable', { kind: 'File', name }, `${message}${previous?.good ? '; its last good objects are kept' : ''}`);
      if (previous) previous.unreadable = unreadable;
      else this.#files.set(path, { text: '', parsed: emptyParsed(), good: undefined, unreadable });
      return;
    }
    if (previous && previous.text === text && !previous.unreadable) return;
    const parsed = parseManifests(name, text);
    if (parsed.fatal && strict) throw new HostmeshError('manifests-invalid', parsed.fatal.message, { path });
    for (const i of parsed.ignored) this.#log.debug({ file: name, line: i.line, apiVersion: i.apiVersion, kind: i.kind }, 'object of a kind this source does not read; ignored');
    this.#files.set(path, { text, parsed, good: parsed.fatal ? previous?.good : parsed });
  }

  #display(path: string): string {
    const rel = relative(process.cwd(), path);
    return rel.startsWith('..') || rel === '' ? path : rel;
  }

  /** Objects of every file in path order (the first definition of an object wins), and the problems. */
  snapshot(): ManifestSnapshot {
    const diagnostics: Diagnostic[] = [];
    if (this.#listingProblem) diagnostics.push(this.#listingProblem);
    const state = emptyState();
    const seen = new Map<string, string>();
    const keep = <T extends { metadata: ObjectMeta }>(kind: string, file: string, item: Located<T>, into: T[]): void => {
      const key = `${kind} ${item.object.metadata.namespace}/${item.object.metadata.name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        diagnostics.push(diagnostic('warning', 'manifest-duplicate', { kind: 'File', name: file },
          `${file}:${item.line}: ${key} is already defined at ${first}; this definition is ignored`, { line: item.line }));
        return;
      }
      seen.set(key, `${file}:${item.line}`);
      into.push(item.object);
    };
    for (const [path, entry] of [...this.#files].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const file = this.#display(path);
      if (entry.unreadable) diagnostics.push(entry.unreadable);
      if (entry.parsed.fatal) {
        const kept = entry.good ? 'its last good objects are kept' : 'nothing from it is used';
        diagnostics.push({ ...entry.parsed.fatal, message: `${entry.parsed.fatal.message}; ${kept}` });
      }
      const good = entry.good;
      if (!good) continue;
      diagnostics.push(...good.diagnostics);
      for (const list of LISTS) {
        for (const item of good[list] as Located<{ metadata: ObjectMeta; kind?: string }>[]) keep(item.object.kind ?? list, file, item, state[list] as { metadata: ObjectMeta }[]);
      }
    }
    return { state, diagnostics: sortDiagnostics(diagnostics), files: this.#files.size };
  }
}

/**
 * Reads a directory (or one file) once. Throws a HostmeshError with a one-line message when it
 * cannot. `brokenFiles: 'report'` (what `hostmesh check` wants) turns an unreadable or
 * unparseable file into a diagnostic instead, so every other problem is still reported; an
 * unreadable directory is an error either way.
 */
export async function loadManifests(dir: string, logger?: Logger, options: { brokenFiles?: 'fail' | 'report' } = {}): Promise<ManifestSnapshot> {
  const d = new ManifestDirectory(dir, logger ?? createLogger('manifests'));
  const report = options.brokenFiles === 'report';
  await d.scan(!report);
  if (report && d.listingProblem !== undefined) throw new HostmeshError('manifests-unreadable', d.listingProblem.message.replace(/; the last objects read are kept$/, ''), { path: dir });
  return d.snapshot();
}

export interface ManifestSourceOptions {
  /** A directory of manifests, or a single manifest file. */
  dir: string;
  /** Called with each new snapshot after the first (see also subscribe()). */
  onChange?: (snapshot: ManifestSnapshot) => void;
  /** Quiet time after a file event before re-reading. Default 100 ms. */
  debounceMs?: number;
  /** Safety-net rescan period. Default 5 s. */
  rescanIntervalMs?: number;
  logger?: Logger;
}

/** A directory of manifests, read strictly at start (see loadManifests) and then watched. */
export class ManifestSource implements Source {
  readonly synced: Promise<void>;
  readonly #options: ManifestSourceOptions;
  readonly #log: Logger;
  readonly #directory: ManifestDirectory;
  readonly #listeners = new Set<() => void>();
  #current: ManifestSnapshot = { state: emptyState(), diagnostics: [], files: 0 };
  #currentKey = '';
  #running: Promise<boolean> | undefined;
  #again = false;
  #closed = false;
  #debounce: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  /** One non-recursive watcher per directory (see #watch). */
  #watchers = new Map<string, FSWatcher>();
  #resolveSynced!: () => void;
  #rejectSynced!: (e: Error) => void;

  constructor(options: ManifestSourceOptions) {
    this.#options = options;
    this.#log = options.logger ?? createLogger('manifests');
    this.#directory = new ManifestDirectory(options.dir, this.#log);
    this.synced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    this.synced.catch(() => {});
  }

  async start(): Promise<void> {
    try {
      await this.#directory.scan(true);
    } catch (e) {
      this.#rejectSynced(e as Error);
      throw e;
    }
    this.#current = this.#directory.snapshot();
    this.#currentKey = JSON.stringify(this.#current);
    this.#resolveSynced();
    const schedule = (): void => this.#schedule();
    this.#watch();
    this.#interval = setInterval(schedule, this.#options.rescanIntervalMs ?? 5000);
    this.#interval.unref();
    // A file saved between the first scan and the watcher's start would wait for the interval.
    schedule();
  }

  current(): ClusterState {
    return this.#current.state;
  }

  diagnostics(): readonly Diagnostic[] {
    return this.#current.diagnostics;
  }

  /** The latest snapshot, with the diagnostics and the number of files read. */
  snapshot(): ManifestSnapshot {
    return this.#current;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Re-reads now; resolves true when the snapshot changed (listeners were called). */
  rescan(): Promise<boolean> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#runScan().catch((e: unknown) => {
      this.#log.error({ err: e }, 'manifest rescan failed');
      return false;
    }).finally(() => { this.#running = undefined; });
    return this.#running;
  }

  stop(): Promise<void> {
    this.#closed = true;
    this.#rejectSynced(new HostmeshError('manifests-stopped', 'the manifest source was stopped before its first read'));
    clearTimeout(this.#debounce);
    clearInterval(this.#interval);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    return Promise.resolve();
  }

  /**
   * Watches every directory of the last listing, each without `recursive`. A directory's watch
   * sees its entries written, created and renamed, so a file an editor replaces by rename (write
   * a temporary file, rename it over the old one) is seen every time; a watch on the file itself
   * (as Node's recursive watching on Linux keeps) follows the old inode and goes silent after
   * the first replacement. Renewed after every scan, new watchers before the old ones close,
   * so swapped directories are followed too.
   */
  #watch(): void {
    if (this.#closed) return;
    const next = new Map<string, FSWatcher>();
    for (const dir of this.#directory.directories) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#schedule());
        w.on('error', (e) => this.#log.warn({ err: e, dir }, 'watching a manifest directory failed; relying on the periodic rescan'));
        next.set(dir, w);
      } catch (e) {
        this.#log.warn({ err: e, dir }, 'cannot watch a manifest directory; relying on the periodic rescan');
      }
    }
    for (const w of this.#watchers.values()) w.close();
    this.#watchers = next;
  }

  async #runScan(): Promise<boolean> {
    let changed = false;
    do {
      this.#again = false;
      await this.#directory.scan(false);
      this.#watch();
      const next = this.#directory.snapshot();
      const key = JSON.stringify(next);
      if (key !== this.#currentKey && !this.#closed) {
        this.#current = next;
        this.#currentKey = key;
        changed = true;
        this.#notify(next);
      }
    } while (this.#again && !this.#closed);
    return changed;
  }

  #notify(next: ManifestSnapshot): void {
    const listeners = [...(this.#options.onChange ? [() => this.#options.onChange?.(next)] : []), ...this.#listeners];
    for (const listener of listeners) {
      try {
        listener();
      } catch (e) {
        this.#log.error({ err: e }, 'manifest change handler failed');
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.rescan(), this.#options.debounceMs ?? 100);
  }
}

/** Reads the directory (strictly, see loadManifests) and keeps watching it. */
export async function openManifestSource(options: ManifestSourceOptions): Promise<ManifestSource> {
  const source = new ManifestSource(options);
  await source.start();
  return source;
}
