/**
 * A worker thread that an HSM refused another session (CKR_SESSION_COUNT: the appliance's limit, other
 * applications holding the rest; or a fault while it restarts) stays at the sessions it has for a while, then
 * tries again (src/hsm/pkcs11/executor.ts): a refusal during an HSM restart must not cut the thread's concurrency
 * for the rest of the process's life. On the shaped module in front of a real SoftHSM token.
 */
// First: libuv's thread pool is sized before anything uses it, as the proxy's entry points do.
import '../../src/runtime/uv-pool'
import t from 'tap'
import { keepEncrypting, startShapedPool } from '../helpers/shaped-pool'

t.test('sessions refused by the HSM are tried again, and the concurrency grows once it allows them', async t => {
  const { pool, control } = await startShapedPool(t, { latencyMs: 3, maxSessions: 2 }, { sessionRetryMs: 200 })

  const cappedServed = await keepEncrypting(pool, 16, 1000)
  const capped = control.counters()
  t.ok(capped.sessionsRefused > 0, `the HSM refused ${capped.sessionsRefused} session(s) beyond its 2`)
  t.ok(capped.maxInFlight <= 2, `at most 2 operations at once while capped (${capped.maxInFlight}); ${cappedServed} served`)

  // The HSM allows more sessions again (it restarted; another application let its sessions go).
  control.set({ maxSessions: 0 })
  control.resetCounters()
  const freedServed = await keepEncrypting(pool, 16, 1500)
  const freed = control.counters()
  t.ok(freed.maxInFlight > 2, `up to ${freed.maxInFlight} operations at once once allowed; ${freedServed} served`)
  // At 3 ms an operation, 2 sessions serve at most ~670/s; more sessions, several times that.
  const cappedRate = cappedServed / 1
  const freedRate = freedServed / 1.5
  t.ok(freedRate > 1.5 * cappedRate, `${Math.round(freedRate)} served per second once allowed, against ${cappedRate} while capped`)
})
