/** The hostmesh version, from package.json (one level above src/ and dist/ alike). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function hostmeshVersion(): string {
  if (cached === undefined) {
    try {
      cached = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
