/**
 * The pool against an HSM across a network (the shaped module in front of a real SoftHSM token): it spreads
 * operations over sessions, never opens more sessions than the HSM allows, retries a busy HSM, survives every
 * session being invalidated at once (an HSM restart, a failover in an HA group), and a hung HSM answers by the
 * deadline without taking more sessions than the concurrency limit.
 */
// First: libuv's thread pool is sized before anything uses it, as the proxy's entry points do.
import '../../src/runtime/uv-pool'
import crypto from 'node:crypto'
import t from 'tap'
import type { HsmOutcome, EncryptResult } from '../../src/hsm/types'
import { startShapedPool } from '../helpers/shaped-pool'
import { until } from '../helpers/until'

const AAD = Buffer.from([0, 0, 0])
const PLAINTEXT = crypto.randomBytes(4096)

interface Answered { at: number, outcome: HsmOutcome<EncryptResult> }

t.test('Pkcs11Pool on a network HSM (shaped module)', async t => {
  const { pool, control } = await startShapedPool(t, { latencyMs: 1 })
  const encrypt = (deadlineMs = 2000): Promise<HsmOutcome<EncryptResult>> =>
    pool.encrypt({ deadline: Date.now() + deadlineMs, keyLabel: 'foo', plaintext: PLAINTEXT, gcmAad: AAD })

  /** `clients` loops of encrypts for `ms`, each answer with the time it came. */
  const load = async (clients: number, ms: number, during?: () => void): Promise<Answered[]> => {
    const answers: Answered[] = []
    const end = Date.now() + ms
    const client = async (): Promise<void> => {
      while (Date.now() < end) answers.push({ outcome: await encrypt(), at: Date.now() })
    }
    const running = Promise.all(Array.from({ length: clients }, client))
    during?.()
    await running
    return answers
  }

  t.test('operations spread over sessions: the concurrency follows the HSM, not the thread', async t => {
    const answers = await load(32, 1500)
    t.ok(answers.every(a => a.outcome.ok), `${answers.length} encrypts, all served`)
    t.ok(pool.stats().concurrencyLimit > 1, `concurrency limit ${pool.stats().concurrencyLimit} on one thread`)
    t.ok(control.counters().maxInFlight > 1, `the HSM had up to ${control.counters().maxInFlight} operations at once`)
  })

  t.test('1 call in 100 answered busy (CKR_FUNCTION_FAILED): retried with backoff, no operation fails', async t => {
    control.resetCounters()
    control.fault('function-failed', { probability: 0.01 })
    const answers = await load(32, 1500)
    control.fault('none')
    const failed = answers.filter(a => !a.outcome.ok)
    t.ok(control.counters().faults > 0, `the HSM answered busy ${control.counters().faults} times`)
    t.same(failed.map(a => a.outcome), [], `0 of ${answers.length} failed`)
  })

  t.test('every session invalidated at once while serving: no more fail than were in flight; all served within 1 s', async t => {
    let inFlightThen = 0
    let restartedAt = 0
    const answers = await load(32, 2500, () => {
      setTimeout(() => {
        inFlightThen = pool.stats().inFlight
        restartedAt = Date.now()
        control.restart()
      }, 700)
    })
    const failed = answers.filter(a => !a.outcome.ok)
    t.ok(failed.length <= inFlightThen, `${failed.length} failed, ${inFlightThen} were in flight at the restart`)
    const lateFailures = failed.filter(a => a.at > restartedAt + 1000)
    t.same(lateFailures.map(a => a.outcome), [], 'none fails more than 1 s after the restart')
    t.ok(answers.some(a => a.at > restartedAt + 1000 && a.outcome.ok), 'served again after the restart')
  })

  t.test('an HSM that allows 4 sessions: the pool never opens more, and everything is served', async t => {
    const { pool: small, control: smallControl } = await startShapedPool(t, { latencyMs: 1, maxSessions: 4 })
    const outcomes = await Promise.all(Array.from({ length: 400 }, () =>
      small.encrypt({ deadline: Date.now() + 5000, keyLabel: 'foo', plaintext: PLAINTEXT, gcmAad: AAD })))
    t.ok(outcomes.every(o => o.ok), 'all 400 served')
    const c = smallControl.counters()
    t.ok(c.maxInFlight <= 4, `at most 4 operations in the HSM at once (${c.maxInFlight})`)
    t.ok(small.stats().sessionsOpen <= 4, `${small.stats().sessionsOpen} sessions open`)
  })

  t.test('a hung HSM: operations answer by their deadline, the hang holds no more than the limit, then serving resumes', async t => {
    control.resetCounters()
    const limitBefore = pool.stats().concurrencyLimit
    control.fault('hang')
    const started = Date.now()
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => encrypt(150)))
    const took = Date.now() - started
    t.ok(outcomes.every(o => !o.ok && (o.failure.kind === 'Timeout' || o.failure.kind === 'Overloaded')), 'each answers Timeout or Overloaded')
    t.ok(took < 1500, `all answered near their 150 ms deadline (${took} ms), not held by the hang`)
    const hanging = control.counters().hanging
    t.ok(hanging <= Math.max(limitBefore, 1), `${hanging} operations held in the HSM, at most the limit then (${limitBefore}) of 16 sessions`)
    control.fault('none')
    await until('the hung operations to return', () => pool.stats().inFlight === 0, 10_000)
    const again = await Promise.all(Array.from({ length: 50 }, () => encrypt()))
    t.ok(again.every(o => o.ok), 'serves again once the HSM answers')
  })
})
