export const DEFAULT_DIAL_TIMEOUT_MS = 3000;
export const DEFAULT_MAX_FAILS = 1;
export const DEFAULT_FAIL_DURATION_MS = 10_000;
export function defaultSettings() {
    return {
        mesh: true,
        dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS,
        loadBalancer: { kind: 'least-request' },
        passiveHealth: { maxFails: DEFAULT_MAX_FAILS, failDurationMs: DEFAULT_FAIL_DURATION_MS },
        httpOnlyKeys: [],
    };
}
