/**
 * The port quarantine (./translator.ts) as stored between runs, `{"<proxy port>": "<RFC 3339
 * time it was freed>"}`: the controller's Lease annotation (../kube/quarantine-store.ts) and
 * standalone's state file (../standalone-state.ts) hold the same text. Pure, no I/O.
 */

/** The stored object for a quarantine (ports in order, so equal sets give equal text). */
export function quarantineObject(freed: ReadonlyMap<number, number>): Record<string, string> {
  const entries = [...freed].toSorted(([a], [b]) => a - b).map(([port, at]) => [String(port), new Date(at).toISOString()]);
  return Object.fromEntries(entries) as Record<string, string>;
}

/** The stored text for a quarantine. */
export function formatQuarantine(freed: ReadonlyMap<number, number>): string {
  return JSON.stringify(quarantineObject(freed));
}

/** Reads a stored object back; entries that are not a port and a time are skipped (and named). */
export function readQuarantine(raw: unknown): { freed: Map<number, number>; skipped: string[] } {
  const freed = new Map<number, number>();
  const skipped: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { freed, skipped: [JSON.stringify(raw) ?? String(raw)] };
  for (const [key, value] of Object.entries(raw)) {
    const port = Number(key);
    const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (!/^\d{1,5}$/.test(key) || port < 1 || port > 65535 || !Number.isFinite(at)) skipped.push(`${key}: ${JSON.stringify(value)}`);
    else freed.set(port, at);
  }
  return { freed, skipped };
}

/** Reads the stored text back (text that is not a JSON object is skipped whole). */
export function parseQuarantine(text: string): { freed: Map<number, number>; skipped: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { freed: new Map(), skipped: [text] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { freed: new Map(), skipped: [text] };
  return readQuarantine(raw);
}
