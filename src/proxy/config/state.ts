/**
 * The proxy's last good table on disk, served at start so a node keeps routing while the
 * controller is down (fail static). Writes are atomic: a crash leaves the old file or the new
 * one, never half of one.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatProblems, validateTable } from '../../table/index.ts';
import type { RoutingTable } from '../../table/index.ts';
import { errorMessage } from '../../common/errors.ts';
import { jsonPieces, TEXT_PIECE, textPieces } from '../../common/text-pieces.ts';

export const STATE_FILE = 'table.json';
const TEMP_PREFIX = `.${STATE_FILE}.`;

export type LoadedState =
  /** `chars`: the length of the file's text (what the config client counts towards its idle collection). */
  | { kind: 'table'; table: RoutingTable; path: string; chars: number }
  | { kind: 'missing'; path: string }
  /** Unreadable, not JSON, or not a valid table: `error` says which and why. */
  | { kind: 'invalid'; path: string; error: string };

export async function loadState(dir: string): Promise<LoadedState> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readText(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', path };
    return { kind: 'invalid', path, error: `cannot read: ${errorMessage(e)}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { kind: 'invalid', path, error: `not JSON: ${errorMessage(e)}` };
  }
  const v = validateTable(value);
  if (!v.ok) return { kind: 'invalid', path, error: `not a valid table: ${formatProblems(v.problems)}` };
  return { kind: 'table', table: v.table, path, chars: text.length };
}

/** A UTF-8 file's text, read in small pieces and decoded as they come (common/text-pieces.ts). */
async function readText(path: string): Promise<string> {
  const parts: string[] = [];
  for await (const piece of createReadStream(path, { encoding: 'utf8', highWaterMark: TEXT_PIECE })) parts.push(piece as string);
  return parts.join('');
}

export { jsonPieces };

/** Save buffers not in use: one per save running at once (one per config client). */
const spareBuffers: Buffer[] = [];

/**
 * Writes the table's JSON in pieces, each its own write: at 10,000 Services the text is
 * megabytes, and one JSON.stringify would hold the proxy's event loop (the next delta, the
 * admin API) for all of it; and never one Buffer of the whole table (common/text-pieces.ts).
 */
async function writeTable(file: FileHandle, table: RoutingTable): Promise<void> {
  // Every piece is encoded into one buffer (at most 3 bytes per unit, plus the pair a piece may
  // be extended by), kept for the next save: a Buffer per piece lives until the GC, and a save
  // per version left ~14 MB of them in malloc's heap, fragmented (224 instead of 162 MB after
  // 300 deltas); a buffer per save still left one 96 KiB hole per version.
  const buffer = spareBuffers.pop() ?? Buffer.allocUnsafeSlow(3 * TEXT_PIECE + 4);
  try {
    await writePieces(file, table, buffer);
  } finally {
    spareBuffers.push(buffer);
  }
}

async function writePieces(file: FileHandle, table: RoutingTable, buffer: Buffer): Promise<void> {
  let chunk = '';
  const write = async (): Promise<void> => {
    for (const piece of textPieces(chunk)) {
      const length = buffer.write(piece);
      // write() may write less than asked: the rest follows.
      for (let done = 0; done < length;) done += (await file.write(buffer, done, length - done)).bytesWritten;
    }
    chunk = '';
  };
  for (const piece of jsonPieces(table)) {
    chunk += piece;
    if (chunk.length >= TEXT_PIECE) await write();
  }
  if (chunk !== '') await write();
}

/** Writes `table` to a temporary file, fsyncs it, renames it over the state file, fsyncs the directory. */
export async function saveState(dir: string, table: RoutingTable): Promise<void> {
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `${TEMP_PREFIX}${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const file = await open(temp, 'w', 0o644);
    try {
      await writeTable(file, table);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, join(dir, STATE_FILE));
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  // The rename is durable only once the directory is synced; some filesystems refuse, which
  // costs durability across a power cut but not correctness.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // best effort, see above
  }
}

/** Removes temporary files a crash left behind mid-write. */
export async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => n.startsWith(TEMP_PREFIX) && n.endsWith('.tmp')).map((n) => unlink(join(dir, n)).catch(() => undefined)));
}
