import type { UpstreamAttempt } from '../http/exchange.ts';
import type { Failure } from '../http/failures.ts';

/** An attempt that failed before reaching any endpoint. Immutable, so shared freely. */
export class FailedAttempt implements UpstreamAttempt {
  readonly endpoint = undefined;
  readonly failure: Failure;
  readonly status = 0;
  readonly headers = undefined;

  constructor(failure: Failure) {
    this.failure = failure;
  }

  commit(): void {}
  discard(): void {}
  cancel(): void {}
}

export const NO_ENDPOINT = new FailedAttempt('no-endpoint');
