import { waitFor } from '../wait-for.js';

/** Waits until `items` (a peer's live record) holds one matching `predicate`, and returns it. */
export async function awaitRecorded<T>(items: readonly T[], predicate: (item: T) => boolean, description: string, timeoutMs = 10_000): Promise<T> {
  let found: T | undefined;
  await waitFor(
    () => {
      found = items.find(predicate);
      return found !== undefined;
    },
    { timeoutMs, description },
  );
  return found!;
}
