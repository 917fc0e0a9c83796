import type { HsmOutcome } from '../hsm/types'
import { XksError } from './errors'

/** Settles as `work` does, or with `onTimeout()` (its value, or its throw) once `ms` have passed. */
function race<T> (work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout())
      } catch (err) {
        reject(err)
      }
    }, Math.max(0, ms))
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Bounds an HSM call by a deadline. The HSM may still finish the operation later; its result is then dropped,
 * which is safe because every XKS operation is stateless (digest §13).
 */
export function withDeadline<T> (work: Promise<HsmOutcome<T>>, ms: number): Promise<HsmOutcome<T>> {
  return race(work, ms, () => ({ ok: false, failure: { kind: 'Timeout', message: `no answer from the HSM within ${ms} ms` } }))
}

/** Resolves as `work` does, or rejects with 503 DependencyTimeoutException once `ms` have passed. */
export function withinRequestBudget<T> (work: Promise<T>, ms: number): Promise<T> {
  return race(work, ms, () => {
    throw new XksError('DependencyTimeoutException', 'The request did not complete within its time budget.', 'request budget')
  })
}
