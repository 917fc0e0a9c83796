/**
 * Bounded waits for work that may never finish (a thread stuck in a PKCS#11 call, a write on a stuck disk): the
 * caller learns whether it finished in time, and goes on either way.
 */

/** Resolves true when `work` settles within `ms`, false otherwise (the work goes on, unwatched). */
export async function settlesWithin (work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), ms) })
  try {
    return await Promise.race([work.then(() => true, () => true), late])
  } finally {
    clearTimeout(timer)
  }
}
