/**
 * Runs a caller's callback so that its exception can neither fail an upload nor reach
 * mesibo, yet does not vanish: it is rethrown on its own, as an event listener's would be.
 */
export function rethrowLater(callback: () => void): void {
  try {
    callback();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
