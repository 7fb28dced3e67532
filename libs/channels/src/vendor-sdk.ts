/**
 * A vendor SDK imported on first use, once. Adapters start loading it when they are constructed,
 * i.e. when a deployment configures their vendor: a notifier loads only the SDKs of its configured
 * vendors, and a process that builds no channel (every other service) loads none.
 */
export function lazySdk<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load();
    return loading;
  };
}

/** Starts loading without waiting; a failure surfaces on the first send that needs the SDK. */
export function preload(load: () => Promise<unknown>): void {
  load().catch(() => undefined);
}
