import type { INestApplication } from '@nestjs/common';
import { ConfigError } from '@ciba/config';

/**
 * Entry point wrapper for every service: a configuration error prints its list of problems and
 * exits 78 (EX_CONFIG) without a stack trace; any other start-up failure exits 1.
 */
export async function runService(start: () => Promise<{ app: INestApplication; url: string }>): Promise<void> {
  try {
    const { url } = await start();
    process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: `listening on ${url}` })}\n`);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}
