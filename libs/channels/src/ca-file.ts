import { readFileSync } from 'node:fs';

/**
 * The PEM file a `CIBA_*_CA_FILE` variable names (extra trusted CAs: an enterprise egress proxy, a
 * private gateway), or undefined when the variable is unset. A problem names the variable, never the
 * file's content.
 */
export function readCaFile(env: Readonly<Record<string, string | undefined>>, variable: string): Buffer | undefined {
  const path = env[variable];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${variable}: cannot read the CA file (${(error as NodeJS.ErrnoException).code ?? (error as Error).name})`);
  }
}
