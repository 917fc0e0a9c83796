/**
 * An HSM that starts as CPU work on this host (batches, limit 1) and then answers from across a network: the pool
 * goes concurrent, and its limit grows to what the clients ask, instead of staying at a few operations because
 * of a baseline latency learnt in microseconds (src/hsm/concurrency-limit.ts, goConcurrent). The bench's network
 * scenario (h) starts its proxy this way: the shaped module's latency is set once the proxy is up.
 */
// First: libuv's thread pool is sized before anything uses it, as the proxy's entry points do.
import '../../src/runtime/uv-pool'
import t from 'tap'
import { keepEncrypting, startShapedPool } from '../helpers/shaped-pool'

t.test('an HSM whose latency rises to 5 ms: the limit grows past a few operations', async t => {
  const { pool, control } = await startShapedPool(t, {})
  const local = await keepEncrypting(pool, 32, 500)
  t.equal(pool.stats().concurrencyLimit, 1, `batches while the HSM is CPU work here (${local} served in 0.5 s)`)

  control.set({ latencyMs: 5 })
  await keepEncrypting(pool, 32, 1500)
  const limit = pool.stats().concurrencyLimit
  // 32 clients wait: the limit grows toward the pool's 16 sessions. A baseline kept from the batches pinned it at 3.
  t.ok(limit >= 8, `the limit grew to ${limit} (of 16)`)
})
