/** The key when none is given: one bucket per client address. */
export const DEFAULT_RATE_LIMIT_KEY = '{remote.ip}';
/** Keys remembered when no zone size is given. */
export const DEFAULT_RATE_LIMIT_ZONE_SIZE = 10_000;
export const RATE_LIMIT = {
    field: 'rateLimit',
    httpOnly: true,
    validate: (v, { c, path }) => {
        const rl = c.object(v, path);
        if (!rl)
            return;
        c.number(rl.ratePerSecond, `${path}.ratePerSecond`, Number.MIN_VALUE, 1e9);
        c.integer(rl.burst, `${path}.burst`, 1, 1e9);
        c.string(rl.key, `${path}.key`, { nonEmpty: true });
        c.integer(rl.zoneSize, `${path}.zoneSize`, 1, 10_000_000);
    },
};
