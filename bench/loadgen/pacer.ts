import { parentPort, workerData } from 'node:worker_threads'

/**
 * The open loop's clock. Node timers fire no sooner than the next whole millisecond, which at 1,800 req/s would
 * send requests up to a millisecond late and add that to every latency. This thread sleeps in Atomics.wait,
 * whose timeout is sub-millisecond, and posts a message when the next request is due; the message wakes the
 * load thread's event loop, which sends whatever is due by then. No thread spins.
 */

interface PacerData {
  /** Intended time of request 0, as performance.timeOrigin + performance.now() (ms, shared across threads). */
  start: number
  interval: number
  total: number
}

const { start, interval, total } = workerData as PacerData
const sleeper = new Int32Array(new SharedArrayBuffer(4))
const now = (): number => performance.timeOrigin + performance.now()

for (let i = 0; i < total;) {
  const wait = start + i * interval - now()
  if (wait > 0) Atomics.wait(sleeper, 0, 0, wait)
  // Everything due by now goes out in one wake-up.
  i = Math.max(i + 1, Math.floor((now() - start) / interval) + 1)
  parentPort!.postMessage(0)
}
