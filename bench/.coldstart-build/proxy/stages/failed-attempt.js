/** An attempt that failed before reaching any endpoint. Immutable, so shared freely. */
export class FailedAttempt {
    endpoint = undefined;
    failure;
    status = 0;
    headers = undefined;
    constructor(failure) {
        this.failure = failure;
    }
    commit() { }
    discard() { }
    cancel() { }
}
export const NO_ENDPOINT = new FailedAttempt('no-endpoint');
