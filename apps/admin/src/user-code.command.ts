import type { Readable } from 'node:stream';
import { ConfigError } from '@ciba/config';
import type { TypeOrmUserCodeStore } from '@ciba/persistence';
import type { SecretHasher } from '@ciba/tokens';

/** The same bounds as the bootstrap file's `user_code`. */
const MIN_LENGTH = 4;
const MAX_LENGTH = 256;

/**
 * The code from standard input, never from the command line (shell history, `ps`): the first line,
 * without its line ending. Input beyond a few KiB is refused rather than read on.
 */
export async function readUserCode(input: Readable): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
    if (text.length > 4 * MAX_LENGTH) break;
  }
  const code = text.split(/\r?\n/)[0] ?? '';
  if (code.length < MIN_LENGTH || code.length > MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(code)) {
    throw new ConfigError([`users set-code: the code on standard input must be ${MIN_LENGTH} to ${MAX_LENGTH} characters on one line, no control characters`]);
  }
  return code;
}

/**
 * `users set-code SUB` (code on stdin) and `users clear-code SUB`: the user's CIBA §7.1 code, stored
 * as a scrypt hash. Output never includes the code.
 */
export async function userCodeCommand(
  command: 'users set-code' | 'users clear-code',
  sub: string,
  deps: { store: TypeOrmUserCodeStore; hasher: SecretHasher; input: Readable; out: (line: string) => void; err: (line: string) => void },
): Promise<number> {
  const hash = command === 'users set-code' ? await deps.hasher.hash(await readUserCode(deps.input)) : null;
  if (!(await deps.store.setUserCodeHash(sub, hash))) {
    deps.err(`no user ${sub}`);
    return 1;
  }
  deps.out(hash === null ? `user code of ${sub} cleared` : `user code of ${sub} set`);
  return 0;
}
