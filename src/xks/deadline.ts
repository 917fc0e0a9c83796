import { XksError } from './errors'

/**
 * Settles as `work` does, or with `onTimeout()` (its value, or its throw) once `ms` have passed. The timeout is
 * decided one setImmediate after the timer fires: timers run before I/O in each event-loop turn, so on a busy
 * loop the answer `work` waits for may already be queued, and it then wins.
 */
function race<T> (work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => setImmediate(() => {
      try {
        resolve(onTimeout())
      } catch (err) {
        reject(err)
      }
    }), Math.max(0, ms))
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Resolves as `work` does, or rejects with 503 DependencyTimeoutException once `ms` have passed. Each HSM
 * operation carries its own deadline already; this bounds the whole request anyway, whatever its stages do.
 */
export function withinRequestBudget<T> (work: Promise<T>, ms: number): Promise<T> {
  return race(work, ms, () => {
    throw new XksError('DependencyTimeoutException', 'The request did not complete within its time budget.', 'request budget')
  })
}
