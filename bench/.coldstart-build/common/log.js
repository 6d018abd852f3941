import { pino } from 'pino';
/**
 * The process logger: JSON lines on stderr (stdout is kept for banners and command output).
 * `HOSTMESH_LOG_LEVEL` overrides the level; tests default to `silent` unless it is set.
 */
export function createLogger(name, level) {
    const resolved = level ?? process.env.HOSTMESH_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info');
    return pino({ name, level: resolved, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
