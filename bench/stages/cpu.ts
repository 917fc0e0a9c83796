/**
 * CPU time per operation, the unit of the stage table. process.cpuUsage() counts every thread of this process,
 * so a stage that runs on worker threads (the HSM hand-off) is charged on both sides.
 */

function cpuMicros (): number {
  const c = process.cpuUsage()
  return c.user + c.system
}

/** µs of CPU per call of `fn`, after a warm-up of a tenth of the calls. */
export function perCall (fn: (i: number) => void, calls: number): number {
  for (let i = 0; i < Math.ceil(calls / 10); i++) fn(i)
  const before = cpuMicros()
  for (let i = 0; i < calls; i++) fn(i)
  return (cpuMicros() - before) / calls
}

/** µs of CPU per operation when `width` operations run concurrently, `waves` times (after one warm-up wave). */
export async function perConcurrentCall (fn: (i: number) => Promise<unknown>, width: number, waves: number): Promise<number> {
  const wave = async (w: number): Promise<void> => { await Promise.all(Array.from({ length: width }, (_, k) => fn(w * width + k))) }
  for (let w = 0; w < Math.max(1, waves / 10); w++) await wave(w)
  const before = cpuMicros()
  for (let w = 0; w < waves; w++) await wave(w)
  return (cpuMicros() - before) / (width * waves)
}

/**
 * µs of CPU per operation with `width` operations kept in flight: each one that completes starts the next, as
 * requests do under a closed-loop load, so batches form as they would in the proxy.
 */
export async function perCallInFlight (fn: (i: number) => Promise<unknown>, width: number, calls: number): Promise<number> {
  const run = async (n: number): Promise<void> => {
    let started = 0
    const lane = async (): Promise<void> => { while (started < n) await fn(started++) }
    await Promise.all(Array.from({ length: width }, lane))
  }
  await run(Math.ceil(calls / 10))
  const before = cpuMicros()
  await run(calls)
  return (cpuMicros() - before) / calls
}
