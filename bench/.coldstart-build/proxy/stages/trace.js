export const trace = (ctx, next) => {
    const tracer = ctx.route.tracer;
    if (tracer === undefined)
        return next;
    const { handle, complete } = next;
    return {
        handle: (ex) => {
            tracer.start(ex);
            handle(ex);
        },
        complete: (ex, status, now) => {
            complete(ex, status, now);
            if (ex.span !== undefined)
                ex.span.end(ex, now);
        },
    };
};
