function onDeadline(ex) {
    ex.expire();
}
export const requestTimeout = (ctx, next) => {
    const ms = ctx.route.entry.requestTimeoutMs;
    if (ms === undefined)
        return next;
    const { handle, complete } = next;
    return {
        handle: (ex) => {
            ex.deadline = setTimeout(onDeadline, ms, ex);
            handle(ex);
        },
        complete: (ex, status, now) => {
            if (ex.deadline !== undefined) {
                clearTimeout(ex.deadline);
                ex.deadline = undefined;
            }
            complete(ex, status, now);
        },
    };
};
