/**
 * Polls `condition` until true (tests never sleep a fixed time). @ciba/testing has the full one, but
 * it depends on this lib, so this lib's own tests keep this small one.
 */
export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
