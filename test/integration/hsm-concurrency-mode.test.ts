/**
 * The pool's choice between batches and operations spread over sessions (src/hsm/concurrency-limit.ts) on an HSM
 * across a network (the shaped module in front of a real SoftHSM token), while the calls that are not
 * cryptographic operations (the deep health check's token info, GetKeyMetadata's key lookup) come and go: those
 * may be answered from the module's cache in microseconds, and must not send a network HSM back to batches of one
 * operation at a time.
 */
// First: libuv's thread pool is sized before anything uses it, as the proxy's entry points do.
import '../../src/runtime/uv-pool'
import t from 'tap'
import { keepEncrypting, startShapedPool } from '../helpers/shaped-pool'

t.test('a network HSM stays concurrent while health checks and key lookups run', async t => {
  const { pool, control } = await startShapedPool(t, { latencyMs: 2 })

  const probes = setInterval(() => {
    void pool.tokenInfo(Date.now() + 1000)
    void pool.describeKey('foo', Date.now() + 1000)
  }, 20)
  // Once the pool has gone concurrent, the limit is read every 5 ms until the load ends.
  const limits: number[] = []
  const watch = setInterval(() => {
    const limit = pool.stats().concurrencyLimit
    if (limit > 1 || limits.length > 0) limits.push(limit)
  }, 5)
  const served = await keepEncrypting(pool, 16, 2000)
  clearInterval(probes)
  clearInterval(watch)

  t.ok(limits.length > 0, 'the pool went concurrent')
  const backToBatches = limits.filter(l => l === 1).length
  t.equal(backToBatches, 0, `after going concurrent, never back to batches (limit 1 in ${backToBatches} of ${limits.length} readings)`)
  t.ok(control.counters().maxInFlight > 1, `the HSM had up to ${control.counters().maxInFlight} operations at once; ${served} served`)
})
