/** Reading the bearer token file shared by the controller, the proxies and `check`. */
import { readFileSync } from 'node:fs';
import { errorMessage, HostmeshError } from '../common/errors.ts';

export function readToken(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HostmeshError('TOKEN_UNREADABLE', `cannot read the token file ${path}: ${errorMessage(e)}`);
  }
  const token = text.trim();
  if (token === '') throw new HostmeshError('TOKEN_EMPTY', `the token file ${path} is empty`);
  return token;
}
