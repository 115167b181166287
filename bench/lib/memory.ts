/**
 * This process's memory over a phase: the start (after a GC when run with --expose-gc) and the peaks
 * of RSS and heap, sampled every 50 ms. `peak()` reads the peaks so far; `stop()` ends the sampling.
 */
export function sampleMemory() {
  global.gc?.();
  const base = process.memoryUsage();
  const peaks = { rss: base.rss, heapUsed: base.heapUsed };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peaks.rss = Math.max(peaks.rss, m.rss);
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
  }, 50);
  return { base, peaks, stop: () => clearInterval(timer) };
}
