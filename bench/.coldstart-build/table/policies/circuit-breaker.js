export const CIRCUIT_BREAKER = {
    field: 'circuitBreaker',
    httpOnly: true,
    validate: (v, { c, path }) => {
        const cb = c.object(v, path);
        if (cb)
            c.string(cb.expression, `${path}.expression`, { nonEmpty: true });
    },
};
