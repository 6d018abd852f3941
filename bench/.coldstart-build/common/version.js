/** The hostmesh version, from package.json (one level above src/ and dist/ alike). */
import { readFileSync } from 'node:fs';
let cached;
export function hostmeshVersion() {
    if (cached === undefined) {
        try {
            cached = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version ?? 'unknown';
        }
        catch {
            cached = 'unknown';
        }
    }
    return cached;
}
