// The oldest Node.js hostmesh runs on (package.json "engines"): undici 8 and
// @kubernetes/client-node 2 need 22.19. Plain JavaScript that any Node parses, so an older one
// gets this one line instead of a syntax or import error from deep inside a dependency.
export const MINIMUM = [22, 19];

/** A one-line refusal when `version` (e.g. "v20.11.1") is older than MINIMUM, else undefined. */
export function refuseOldNode(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  if (major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1])) return undefined;
  return `hostmesh needs Node.js ${MINIMUM.join('.')} or newer; this is Node.js ${version.replace(/^v/, '')}`;
}
