/**
 * The standalone source: Services, EndpointSlices, Pods and SMI objects read from a directory of multi-document
 * YAML files (`*.yaml`, `*.yml`, recursively), re-read when files change.
 *
 * At start an unreadable directory or file, or a file that is not YAML, is an error the CLI
 * prints as one line. Later, such a file is reported as a diagnostic and its last good objects
 * are kept, so an editor's half-saved file never takes routes away. Changes are picked up by
 * fs.watch (debounced) with a periodic rescan as a safety net (watchers miss events on some
 * filesystems and when directories are swapped).
 */
import { watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { HostmeshError, errorMessage } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';
import { isSmiKind } from '../translation/smi/parse.js';
import { diagnostic, sortDiagnostics } from '../translation/diagnostics.js';
/**
 * Readers by `apiVersion/kind`. Each checks the shape translation relies on and returns a
 * problem, or adds the object. SMI and Gateway API kinds plug in here.
 */
const KIND_READERS = {
    'v1/Service': (value, line, sink) => {
        const problem = checkMeta(value) ?? checkArray(value.spec, 'ports', 'spec.ports');
        if (problem)
            return problem;
        sink.services.push({ object: value, line });
        return undefined;
    },
    'discovery.k8s.io/v1/EndpointSlice': (value, line, sink) => {
        const problem = checkMeta(value) ?? checkArray(value, 'endpoints', 'endpoints') ?? checkArray(value, 'ports', 'ports');
        if (problem)
            return problem;
        sink.endpointSlices.push({ object: value, line });
        return undefined;
    },
    'v1/Pod': (value, line, sink) => {
        const problem = checkMeta(value);
        if (problem)
            return problem;
        sink.pods.push({ object: value, line });
        return undefined;
    },
};
/**
 * SMI objects, every kind and version: their fields are checked by translation, which reports
 * problems against the object (the same objects come from the API server).
 */
const SMI_READER = (value, line, sink) => {
    const problem = checkMeta(value);
    if (problem)
        return problem;
    sink.smi.push({ object: value, line });
    return undefined;
};
/** Parses one file's text. Pure: no I/O, never throws. */
export function parseManifests(path, text) {
    const out = emptyParsed();
    const file = { kind: 'File', name: path };
    const lineCounter = new LineCounter();
    let docs;
    try {
        const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: true });
        docs = Array.isArray(parsed) ? parsed : [];
    }
    catch (e) {
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
        let value;
        try {
            value = doc.toJS({ maxAliasCount: 100 });
        }
        catch (e) {
            out.fatal = diagnostic('error', 'manifest-parse-error', file, `${path}:${line}: cannot read the document: ${oneLine(errorMessage(e))}`, { line });
            return out;
        }
        if (value === null || value === undefined)
            continue;
        readObject(value, path, line, out);
    }
    return out;
}
function readObject(value, path, line, out) {
    const file = { kind: 'File', name: path };
    const invalid = (why) => {
        out.diagnostics.push(diagnostic('warning', 'manifest-invalid-object', file, `${path}:${line}: ${why}; the object is skipped`, { line }));
    };
    if (!isRecord(value))
        return invalid('the document is not an object');
    const apiVersion = value.apiVersion;
    const kind = value.kind;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string')
        return invalid('the object has no apiVersion and kind');
    if (apiVersion === 'v1' && kind === 'List') {
        if (!Array.isArray(value.items))
            return invalid('the List has no items');
        for (const item of value.items)
            readObject(item, path, line, out);
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
    if (problem)
        invalid(`${kind}${name}: ${problem}`);
}
/** Checks metadata, defaults the namespace, and turns scalar label/annotation values into strings. */
function checkMeta(value) {
    const meta = value.metadata;
    if (!isRecord(meta))
        return 'metadata is missing';
    if (typeof meta.name !== 'string' || meta.name === '')
        return 'metadata.name is missing';
    if (meta.namespace === undefined || meta.namespace === null || meta.namespace === '')
        meta.namespace = 'default';
    else if (typeof meta.namespace !== 'string')
        return 'metadata.namespace is not a string';
    for (const field of ['labels', 'annotations']) {
        const map = meta[field];
        if (map === undefined || map === null) {
            delete meta[field];
            continue;
        }
        if (!isRecord(map))
            return `metadata.${field} is not a map`;
        for (const [k, v] of Object.entries(map)) {
            // Kubernetes would refuse unquoted numbers and booleans; a hand-written file gets the benefit of the doubt.
            if (typeof v === 'number' || typeof v === 'boolean')
                map[k] = String(v);
            else if (typeof v !== 'string')
                return `metadata.${field}.${k} is not a string`;
        }
    }
    return undefined;
}
function checkArray(parent, field, path) {
    if (!isRecord(parent))
        return undefined;
    const v = parent[field];
    if (v === undefined || v === null || Array.isArray(v))
        return undefined;
    return `${path} is not a list`;
}
function emptyParsed() {
    return { services: [], endpointSlices: [], pods: [], smi: [], ignored: [], diagnostics: [] };
}
function isRecord(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}
/** The first line of a parser message, without the source excerpt it introduces. */
function oneLine(s) {
    return s.split('\n')[0].trim().replace(/:$/, '');
}
const MANIFEST_FILE = /\.ya?ml$/i;
const MAX_DEPTH = 16;
/**
 * The manifest files under `root` (or `root` itself when it is a file), sorted, and the
 * directories they were found in (the ones to watch).
 */
async function listFiles(root) {
    const info = await stat(root);
    if (info.isFile())
        return { files: [root], dirs: [dirname(root)] };
    const out = [];
    const dirs = [];
    const walk = async (dir, depth) => {
        if (depth > MAX_DEPTH)
            return;
        dirs.push(dir);
        for (const entry of await readdir(dir, { withFileTypes: true })) {
            // Hidden names cover editor swap files and Kubernetes ConfigMap mounts' `..data` copies.
            if (entry.name.startsWith('.'))
                continue;
            const path = join(dir, entry.name);
            if (entry.isDirectory())
                await walk(path, depth + 1);
            else if (MANIFEST_FILE.test(entry.name)) {
                if (entry.isFile())
                    out.push(path);
                // Symbolic links are followed to files only, so a link cycle cannot loop the walk.
                else if (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())
                    out.push(path);
            }
        }
    };
    await walk(root, 0);
    return { files: out.toSorted(), dirs };
}
/** The files of a directory, re-read on demand; keeps each file's last good objects. */
class ManifestDirectory {
    #root;
    #log;
    #files = new Map();
    #listingProblem;
    /** Why the last listing failed, if it did. */
    get listingProblem() {
        return this.#listingProblem;
    }
    /** The directories of the last listing: where files can change. */
    directories = [];
    constructor(root, log) {
        this.#root = root;
        this.#log = log;
    }
    /** Re-reads every file. `strict` (at start) turns any unreadable or unparseable input into an error. */
    async scan(strict) {
        let paths;
        try {
            const listing = await listFiles(this.#root);
            paths = listing.files;
            this.directories = listing.dirs;
            this.#listingProblem = undefined;
        }
        catch (e) {
            const message = `cannot read the manifest directory ${this.#root}: ${errorMessage(e)}`;
            if (strict)
                throw new HostmeshError('manifests-unreadable', message, { path: this.#root }, { cause: e });
            this.#listingProblem = diagnostic('error', 'manifest-unreadable', { kind: 'File', name: this.#root }, `${message}; the last objects read are kept`);
            return;
        }
        const seen = new Set(paths);
        for (const path of this.#files.keys())
            if (!seen.has(path))
                this.#files.delete(path);
        for (const path of paths)
            await this.#read(path, strict);
    }
    async #read(path, strict) {
        const name = this.#display(path);
        const previous = this.#files.get(path);
        let text;
        try {
            text = await readFile(path, 'utf8');
        }
        catch (e) {
            if (e.code === 'ENOENT') {
                // Deleted between listing and reading: it is gone.
                this.#files.delete(path);
                return;
            }
            const message = `${name}: cannot read the file: ${errorMessage(e)}`;
            if (strict)
                throw new HostmeshError('manifests-unreadable', message, { path }, { cause: e });
            const unreadable = diagnostic('error', 'manifest-unreadable', { kind: 'File', name }, `${message}${previous?.good ? '; its last good objects are kept' : ''}`);
            if (previous)
                previous.unreadable = unreadable;
            else
                this.#files.set(path, { text: '', parsed: emptyParsed(), good: undefined, unreadable });
            return;
        }
        if (previous && previous.text === text && !previous.unreadable)
            return;
        const parsed = parseManifests(name, text);
        if (parsed.fatal && strict)
            throw new HostmeshError('manifests-invalid', parsed.fatal.message, { path });
        for (const i of parsed.ignored)
            this.#log.debug({ file: name, line: i.line, apiVersion: i.apiVersion, kind: i.kind }, 'object of a kind this source does not read; ignored');
        this.#files.set(path, { text, parsed, good: parsed.fatal ? previous?.good : parsed });
    }
    #display(path) {
        const rel = relative(process.cwd(), path);
        return rel.startsWith('..') || rel === '' ? path : rel;
    }
    /** Objects of every file in path order (the first definition of an object wins), and the problems. */
    snapshot() {
        const diagnostics = [];
        if (this.#listingProblem)
            diagnostics.push(this.#listingProblem);
        const services = [];
        const endpointSlices = [];
        const pods = [];
        const smi = [];
        const seen = new Map();
        const keep = (kind, file, item, into) => {
            const key = `${kind} ${item.object.metadata.namespace}/${item.object.metadata.name}`;
            const first = seen.get(key);
            if (first !== undefined) {
                diagnostics.push(diagnostic('warning', 'manifest-duplicate', { kind: 'File', name: file }, `${file}:${item.line}: ${key} is already defined at ${first}; this definition is ignored`, { line: item.line }));
                return;
            }
            seen.set(key, `${file}:${item.line}`);
            into.push(item.object);
        };
        for (const [path, entry] of [...this.#files].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
            const file = this.#display(path);
            if (entry.unreadable)
                diagnostics.push(entry.unreadable);
            if (entry.parsed.fatal) {
                const kept = entry.good ? 'its last good objects are kept' : 'nothing from it is used';
                diagnostics.push({ ...entry.parsed.fatal, message: `${entry.parsed.fatal.message}; ${kept}` });
            }
            const good = entry.good;
            if (!good)
                continue;
            diagnostics.push(...good.diagnostics);
            for (const s of good.services)
                keep('Service', file, s, services);
            for (const s of good.endpointSlices)
                keep('EndpointSlice', file, s, endpointSlices);
            for (const p of good.pods)
                keep('Pod', file, p, pods);
            for (const o of good.smi)
                keep(o.object.kind, file, o, smi);
        }
        const state = { services, endpointSlices };
        if (pods.length > 0)
            state.pods = pods;
        if (smi.length > 0)
            state.smi = smi;
        return { state, diagnostics: sortDiagnostics(diagnostics), files: this.#files.size };
    }
}
/**
 * Reads a directory (or one file) once. Throws a HostmeshError with a one-line message when it
 * cannot. `brokenFiles: 'report'` (what `hostmesh check` wants) turns an unreadable or
 * unparseable file into a diagnostic instead, so every other problem is still reported; an
 * unreadable directory is an error either way.
 */
export async function loadManifests(dir, logger, options = {}) {
    const d = new ManifestDirectory(dir, logger ?? createLogger('manifests'));
    const report = options.brokenFiles === 'report';
    await d.scan(!report);
    if (report && d.listingProblem !== undefined)
        throw new HostmeshError('manifests-unreadable', d.listingProblem.message.replace(/; the last objects read are kept$/, ''), { path: dir });
    return d.snapshot();
}
/** A directory of manifests, read strictly at start (see loadManifests) and then watched. */
export class ManifestSource {
    synced;
    #options;
    #log;
    #directory;
    #listeners = new Set();
    #current = { state: { services: [], endpointSlices: [] }, diagnostics: [], files: 0 };
    #currentKey = '';
    #running;
    #again = false;
    #closed = false;
    #debounce;
    #interval;
    /** One non-recursive watcher per directory (see #watch). */
    #watchers = new Map();
    #resolveSynced;
    #rejectSynced;
    constructor(options) {
        this.#options = options;
        this.#log = options.logger ?? createLogger('manifests');
        this.#directory = new ManifestDirectory(options.dir, this.#log);
        this.synced = new Promise((resolve, reject) => {
            this.#resolveSynced = resolve;
            this.#rejectSynced = reject;
        });
        this.synced.catch(() => { });
    }
    async start() {
        try {
            await this.#directory.scan(true);
        }
        catch (e) {
            this.#rejectSynced(e);
            throw e;
        }
        this.#current = this.#directory.snapshot();
        this.#currentKey = JSON.stringify(this.#current);
        this.#resolveSynced();
        const schedule = () => this.#schedule();
        this.#watch();
        this.#interval = setInterval(schedule, this.#options.rescanIntervalMs ?? 5000);
        this.#interval.unref();
        // A file saved between the first scan and the watcher's start would wait for the interval.
        schedule();
    }
    current() {
        return this.#current.state;
    }
    diagnostics() {
        return this.#current.diagnostics;
    }
    /** The latest snapshot, with the diagnostics and the number of files read. */
    snapshot() {
        return this.#current;
    }
    subscribe(listener) {
        this.#listeners.add(listener);
        return () => { this.#listeners.delete(listener); };
    }
    /** Re-reads now; resolves true when the snapshot changed (listeners were called). */
    rescan() {
        if (this.#running) {
            this.#again = true;
            return this.#running;
        }
        this.#running = this.#runScan().catch((e) => {
            this.#log.error({ err: e }, 'manifest rescan failed');
            return false;
        }).finally(() => { this.#running = undefined; });
        return this.#running;
    }
    stop() {
        this.#closed = true;
        this.#rejectSynced(new HostmeshError('manifests-stopped', 'the manifest source was stopped before its first read'));
        clearTimeout(this.#debounce);
        clearInterval(this.#interval);
        for (const w of this.#watchers.values())
            w.close();
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
    #watch() {
        if (this.#closed)
            return;
        const next = new Map();
        for (const dir of this.#directory.directories) {
            try {
                const w = watch(dir, { persistent: false }, () => this.#schedule());
                w.on('error', (e) => this.#log.warn({ err: e, dir }, 'watching a manifest directory failed; relying on the periodic rescan'));
                next.set(dir, w);
            }
            catch (e) {
                this.#log.warn({ err: e, dir }, 'cannot watch a manifest directory; relying on the periodic rescan');
            }
        }
        for (const w of this.#watchers.values())
            w.close();
        this.#watchers = next;
    }
    async #runScan() {
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
    #notify(next) {
        const listeners = [...(this.#options.onChange ? [() => this.#options.onChange?.(next)] : []), ...this.#listeners];
        for (const listener of listeners) {
            try {
                listener();
            }
            catch (e) {
                this.#log.error({ err: e }, 'manifest change handler failed');
            }
        }
    }
    #schedule() {
        if (this.#closed)
            return;
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => void this.rescan(), this.#options.debounceMs ?? 100);
    }
}
/** Reads the directory (strictly, see loadManifests) and keeps watching it. */
export async function openManifestSource(options) {
    const source = new ManifestSource(options);
    await source.start();
    return source;
}
