/**
 * A signal that fires `graceMs` after `signal` does. Requests already on the wire get it
 * instead of the caller's signal: cutting a request off mid-flight leaves it unknown whether
 * Azure applied it (a block staged, a blob written) after we looked, so they are allowed to
 * finish and are then undone; only a backend that stays silent past the grace is cut off.
 */
export function afterGrace(
  signal: AbortSignal,
  graceMs: number,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    timer = setTimeout(() => controller.abort(signal.reason), graceMs);
    timer.unref();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      signal.removeEventListener("abort", onAbort);
      clearTimeout(timer);
    },
  };
}
