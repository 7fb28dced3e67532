import type { z } from 'zod';

/**
 * Validates an adapter's options. Errors name the failing fields — or, for options read from the
 * environment, the variables (`variables` maps field → variable) — and never a value, so a token or
 * password cannot leak into a log.
 */
export function parseChannelOptions<S extends z.ZodType>(
  schema: S,
  input: unknown,
  label: string,
  variables: Readonly<Record<string, string>> = {},
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues
    .map((issue) => {
      const field = issue.path.join('.') || '(root)';
      return `${variables[field] ?? field}: ${issue.message}`;
    })
    .join('; ');
  throw new Error(`${label}: ${details}`);
}
