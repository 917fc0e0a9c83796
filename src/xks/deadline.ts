import type { HsmOutcome } from '../hsm/types'

/**
 * Bounds an HSM call by a deadline. The HSM may still finish the operation later; its result is then dropped,
 * which is safe because every XKS operation is stateless (digest §13).
 */
export function withDeadline<T> (work: Promise<HsmOutcome<T>>, ms: number): Promise<HsmOutcome<T>> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<HsmOutcome<T>>(resolve => {
    timer = setTimeout(() => resolve({ ok: false, failure: { kind: 'Timeout', message: `no answer from the HSM within ${ms} ms` } }), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}
