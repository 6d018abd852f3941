export const metrics = (ctx, next) => {
    const fallback = ctx.route.defaultStats;
    const { complete } = next;
    return {
        handle: next.handle,
        complete: (ex, status, now) => {
            const stats = ex.backend !== undefined ? ex.backend.stats : fallback;
            stats.record(ex.methodIdx, status, (now - ex.start) / 1000);
            complete(ex, status, now);
        },
    };
};
