import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@ciba/config';
import { readUserCode } from './user-code.command.js';

describe('readUserCode (ciba-admin users set-code)', () => {
  it('takes the first line of standard input, without its line ending', async () => {
    expect(await readUserCode(Readable.from(['4821\n']))).toBe('4821');
    expect(await readUserCode(Readable.from(['48', '21\r\nignored\n']))).toBe('4821');
    expect(await readUserCode(Readable.from(['correct horse battery staple']))).toBe('correct horse battery staple');
  });

  it('refuses an empty, short, over-long or control-character code', async () => {
    for (const input of ['', '\n', '482\n', `${'x'.repeat(257)}\n`, 'x'.repeat(100_000), '48\u000021\n']) {
      await expect(readUserCode(Readable.from([input]))).rejects.toBeInstanceOf(ConfigError);
    }
  });
});
