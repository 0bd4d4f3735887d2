/**
 * Waits for an SDK call, but no longer than `signal` allows. @google-cloud/storage takes no
 * AbortSignal for metadata calls, and retries with back-off for seconds when the backend is
 * down: a caller with a deadline (the readiness probe) gets its answer at the deadline.
 * The call itself runs on in the background and its outcome is ignored.
 */
/** The signal's reason as an AbortError (a deadline stays a TimeoutError), so it classifies. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && (reason.name === "AbortError" || reason.name === "TimeoutError")) {
    return reason;
  }
  return Object.assign(new Error("The operation was aborted.", { cause: reason }), {
    name: "AbortError",
  });
}

export function untilAborted<T>(call: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return call;
  if (signal.aborted) {
    call.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      call.catch(() => undefined);
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    call.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
