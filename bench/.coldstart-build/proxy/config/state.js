/**
 * The proxy's last good table on disk, served at start so a node keeps routing while the
 * controller is down (fail static). Writes are atomic: a crash leaves the old file or the new
 * one, never half of one.
 */
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatProblems, validateTable } from '../../table/index.js';
import { errorMessage } from '../../common/errors.js';
export const STATE_FILE = 'table.json';
const TEMP_PREFIX = `.${STATE_FILE}.`;
export async function loadState(dir) {
    const path = join(dir, STATE_FILE);
    let text;
    try {
        text = await readFile(path, 'utf8');
    }
    catch (e) {
        if (e.code === 'ENOENT')
            return { kind: 'missing', path };
        return { kind: 'invalid', path, error: `cannot read: ${errorMessage(e)}` };
    }
    let value;
    try {
        value = JSON.parse(text);
    }
    catch (e) {
        return { kind: 'invalid', path, error: `not JSON: ${errorMessage(e)}` };
    }
    const v = validateTable(value);
    if (!v.ok)
        return { kind: 'invalid', path, error: `not a valid table: ${formatProblems(v.problems)}` };
    return { kind: 'table', table: v.table, path };
}
/** Writes `table` to a temporary file, fsyncs it, renames it over the state file, fsyncs the directory. */
export async function saveState(dir, table) {
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `${TEMP_PREFIX}${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
        const file = await open(temp, 'w', 0o644);
        try {
            await file.writeFile(JSON.stringify(table));
            await file.sync();
        }
        finally {
            await file.close();
        }
        await rename(temp, join(dir, STATE_FILE));
    }
    catch (e) {
        await unlink(temp).catch(() => undefined);
        throw e;
    }
    // The rename is durable only once the directory is synced; some filesystems refuse, which
    // costs durability across a power cut but not correctness.
    try {
        const d = await open(dir, 'r');
        try {
            await d.sync();
        }
        finally {
            await d.close();
        }
    }
    catch {
        // best effort, see above
    }
}
/** Removes temporary files a crash left behind mid-write. */
export async function removeStaleTemps(dir) {
    let names;
    try {
        names = await readdir(dir);
    }
    catch {
        return;
    }
    await Promise.all(names.filter((n) => n.startsWith(TEMP_PREFIX) && n.endsWith('.tmp')).map((n) => unlink(join(dir, n)).catch(() => undefined)));
}
