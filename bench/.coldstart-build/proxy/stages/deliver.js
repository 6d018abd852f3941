const onOutcome = (ex, a) => {
    if (ex.done) {
        a.discard();
        return;
    }
    if (a.failure !== undefined)
        ex.fail(a.failure);
    else
        a.commit();
};
export function deliver(attempt) {
    return (ex) => attempt(ex, onOutcome);
}
