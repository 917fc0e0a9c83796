/**
 * The concurrency limit (src/hsm/concurrency-limit.ts) is cut only by what the HSM does: an operation it held past
 * its deadline, or a busy answer. An answer that arrived in time but was read late, because this process's event
 * loop stalled (a saturated CPU, a GC pause), says nothing of the HSM: counting it would shrink the limit while
 * this host is the bottleneck, down to one operation at a time. On the shaped module in front of a real SoftHSM.
 */
// First: libuv's thread pool is sized before anything uses it, as the proxy's entry points do.
import '../../src/runtime/uv-pool'
import t from 'tap'
import { keepEncrypting, startShapedPool } from '../helpers/shaped-pool'

t.test('answers read late because this thread stalled do not cut the limit, only answers the HSM held late', async t => {
  const { pool } = await startShapedPool(t, { latencyMs: 5 })
  await keepEncrypting(pool, 16, 500)
  const before = pool.stats().concurrencyLimit
  t.ok(before > 1, `concurrent after the warm-up (limit ${before})`)
  // Each round: 8 operations with 30 ms to live, answered by the HSM in ~5 ms, then this thread busy for 60 ms
  // inside a timer, so the deadline check (a timer too) runs before the answers waiting on the port are read.
  let served = 0
  for (let round = 0; round < 15; round++) {
    const pending = Array.from({ length: 8 }, () =>
      pool.encrypt({ deadline: Date.now() + 30, keyLabel: 'foo', plaintext: Buffer.alloc(4096), gcmAad: Buffer.from([0]) }))
    await new Promise<void>(resolve => setTimeout(() => {
      const until = Date.now() + 60
      while (Date.now() < until) { /* a stalled event loop */ }
      resolve()
    }, 10))
    served += (await Promise.all(pending)).filter(o => o.ok).length
  }
  const after = pool.stats().concurrencyLimit
  t.equal(served, 15 * 8, 'every answer that waited behind the stall was served')
  t.ok(after >= before / 2, `the limit held (${before} before the stalls, ${after} after)`)
})
