/**
 * An HSM already across a network (1 ms) whose own latency rises to 5 ms while the pool keeps it busy (an
 * appliance under other tenants' load, a failover to a farther site). No window is unloaded, so the baseline
 * stayed at 1 ms, every 5 ms window read as queueing, and the limit sank to 6 for good; a probe above the limit
 * now finds that the time does not rise with more at once (src/hsm/concurrency-limit.ts). A file of its own:
 * SoftHSM reads its configuration once per process.
 */
// First: libuv's thread pool is sized before anything uses it, as the proxy's entry points do.
import '../../src/runtime/uv-pool'
import t from 'tap'
import { keepEncrypting, startShapedPool } from '../helpers/shaped-pool'

t.test('an HSM already 1 ms away whose latency rises to 5 ms while it is busy: the limit follows', async t => {
  const { pool, control } = await startShapedPool(t, { latencyMs: 1 })
  await keepEncrypting(pool, 32, 1500)
  t.ok(pool.stats().concurrencyLimit >= 8, `busy at 1 ms: limit ${pool.stats().concurrencyLimit}`)

  control.set({ latencyMs: 5 })
  // On a quiet host the first probe, 0.5 s in, finds it. A host short of CPU may not serve the probe's extra
  // operations any faster, which reads as queueing and doubles the wait for the next (1, 2, 4, 6.4 s).
  const rose = performance.now()
  let limit = 0
  while (performance.now() - rose < 20_000 && limit < 12) {
    await keepEncrypting(pool, 32, 250)
    limit = pool.stats().concurrencyLimit
  }
  const seconds = ((performance.now() - rose) / 1000).toFixed(1)
  t.ok(limit >= 12, `the limit is ${limit} of 16 ${seconds} s after the rise to 5 ms (it sank to 6 for good)`)
})
