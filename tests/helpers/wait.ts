export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout's error. */
  message?: string;
}

/**
 * The suite's one polling helper: runs `check` until it returns a truthy value and returns that
 * value. On timeout it fails with `message` and the last value seen, so a failure says what the
 * test was waiting for and how far it got. A check that throws fails at once (that is a bug, not
 * "not yet").
 */
export async function waitFor<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 50, message = 'condition' }: WaitOptions = {}): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}; last value: ${describe(value)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 500) ?? String(value);
  } catch {
    return String(value);
  }
}
