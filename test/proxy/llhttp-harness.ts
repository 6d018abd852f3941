/**
 * What the fast HTTP/1 readers' property tests share: Node's llhttp binding (the parser node:http
 * and the backend pool use, the reference the fast readers must agree with) and the generators
 * for near-valid message text.
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';

const require = createRequire(import.meta.url);

export interface LlhttpParser {
  initialize(t: number, r: object, max: number, lenient: number): void;
  execute(b: Buffer): unknown;
  [k: number]: unknown;
}

export const { HTTPParser, methods } = require('_http_common') as {
  methods: string[];
  HTTPParser: {
    new (): LlhttpParser;
    REQUEST: number; RESPONSE: number; kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number;
  };
};

export const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
/** Mostly `usual`, now and then `odd`: most messages are close to valid, so many are accepted. */
export const mostly = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: usual }, { weight: 1, arbitrary: odd });
export const chars = (alphabet: string, max: number) => fc.array(pick([...alphabet]), { maxLength: max }).map((a) => a.join(''));
export const WEIRD = ' \t\r\n\0\u0001\u007f\u0080\u00ff:;,"#?/%';
