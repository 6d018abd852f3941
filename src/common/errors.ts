/**
 * Errors with stable codes. The code is the contract (tests, metrics, status output and users'
 * scripts match on it); the message is for people and may improve. Every code is listed and
 * documented in error-codes.ts.
 */
import type { ErrorCode } from './error-codes.ts';

export type { ErrorCode };

export class HostmeshError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HostmeshError';
    this.code = code;
    this.details = details;
  }
}

export function isHostmeshError(e: unknown, code?: ErrorCode): e is HostmeshError {
  return e instanceof HostmeshError && (code === undefined || e.code === code);
}

/** A message for any thrown value, for logs and one-line CLI errors. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
