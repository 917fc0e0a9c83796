import crypto from 'node:crypto'
import t from 'tap'
import type { HsmEvent } from '../../src/hsm/pkcs11/context'
import { Pkcs11Pool } from '../../src/hsm/pool'
import type { HsmOutcome } from '../../src/hsm/types'
import { createTestToken } from '../helpers/softhsm'
import { until } from '../helpers/until'

const AAD = Buffer.from([0, 0, 0])
/** A deadline no test operation should reach. */
const soon = (): number => Date.now() + 10_000

const value = <T>(o: HsmOutcome<T>): T => {
  if (!o.ok) throw new Error(`expected success, got ${JSON.stringify(o.failure)}`)
  return o.value
}

t.test('Pkcs11Pool on a real SoftHSM token', async t => {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  const base = { modulePath: token.modulePath, tokenLabel: token.tokenLabel, pin: token.pin, sessionsPerThread: 1, ivSource: 'random' as const, maxBatch: 32 }

  // First, while nothing in this process is logged in: the login state is per process, and once a session is
  // logged in, C_Login answers CKR_USER_ALREADY_LOGGED_IN without checking the PIN.
  await t.test('startup failures name their cause', async t => {
    await t.rejects(Pkcs11Pool.start({ ...base, pin: '0000', threads: 1 }), /CKR_PIN_INCORRECT/)
    await t.rejects(Pkcs11Pool.start({ ...base, tokenLabel: 'nope', threads: 1 }), /token label "nope" not found/)
    await t.rejects(Pkcs11Pool.start({ ...base, modulePath: '/nonexistent.so', threads: 1 }), /could not be loaded/)
  })

  const events: HsmEvent[] = []
  const pool = await Pkcs11Pool.start({ ...base, threads: 2, onEvent: e => events.push(e) })
  t.teardown(() => pool.close())
  t.match(pool.stats(), { threads: 2, sessionsOpen: 2, queued: 0, inFlight: 0 })

  t.test('500 concurrent mixed operations, batched', async t => {
    const sealed = await Promise.all(Array.from({ length: 150 }, async () => {
      const plaintext = crypto.randomBytes(1 + crypto.randomInt(4096))
      return { plaintext, e: value(await pool.encrypt({ deadline: soon(), keyLabel: 'foo', plaintext, gcmAad: AAD })) }
    }))
    const before = pool.stats()
    const ops: Array<Promise<boolean>> = []
    for (let i = 0; i < 500; i++) {
      const s = sealed[i % sealed.length]
      if (i % 5 === 0) {
        ops.push(pool.describeKey('enc-only', soon()).then(o => value(o).canDecrypt === false))
      } else if (i % 5 === 1) {
        const integrityPrefix = crypto.randomBytes(20)
        ops.push(pool.encrypt({ deadline: soon(), keyLabel: 'foo', plaintext: s.plaintext, gcmAad: AAD, integrityPrefix }).then(o => {
          const e = value(o)
          const digest = crypto.createHash('sha256').update(Buffer.concat([integrityPrefix, e.iv, e.ciphertext, e.tag])).digest()
          return digest.equals(e.integrityDigest as Buffer)
        }))
      } else if (i % 5 === 2) {
        const plaintext = crypto.randomBytes(64)
        ops.push(pool.encrypt({ deadline: soon(), keyLabel: 'health', plaintext, gcmAad: AAD })
          .then(o => pool.decrypt({ deadline: soon(), keyLabel: 'health', ...value(o), gcmAad: AAD }))
          .then(o => value(o).plaintext.equals(plaintext)))
      } else {
        ops.push(pool.decrypt({ deadline: soon(), keyLabel: 'foo', ciphertext: s.e.ciphertext, tag: s.e.tag, iv: s.e.iv, gcmAad: AAD })
          .then(o => value(o).plaintext.equals(s.plaintext)))
      }
    }
    const results = await Promise.all(ops)
    t.equal(results.filter(Boolean).length, 500, 'every result correct')
    const tasks = pool.stats().batches - before.batches
    const carried = pool.stats().batchedOps - before.batchedOps
    t.equal(carried, 600, 'all operations went through the workers')
    t.ok(tasks < carried / 4, `batched: ${carried} operations in ${tasks} batches`)
    t.match(pool.stats(), { queued: 0, inFlight: 0 })
  })

  t.test('a worker crash fails its in-flight operations with Unavailable; the pool recovers', async t => {
    const ops = Array.from({ length: 400 }, () =>
      pool.encrypt({ deadline: soon(), keyLabel: 'foo', plaintext: crypto.randomBytes(4096), gcmAad: AAD }))
    await new Promise(setImmediate)
    t.ok(pool.stats().inFlight > 0, 'operations are in flight')
    const victim = pool.threads[0]
    await victim.terminate()
    const outcomes = await Promise.all(ops)
    const failed = outcomes.filter(o => !o.ok)
    t.ok(failed.length > 0, `${failed.length} operations failed with the worker`)
    for (const o of failed) t.match(o, { ok: false, failure: { kind: 'Unavailable', message: /worker crashed/ } })
    t.notOk(failed.some(o => !o.ok && o.failure.ckr !== undefined), 'no CKR for a crash')
    t.ok(outcomes.some(o => o.ok), 'the other worker kept serving')
    await until('a replacement worker', () => pool.stats().threads === 2 && pool.stats().sessionsOpen === 2)
    t.ok(pool.threads.every(w => w.threadId !== victim.threadId), 'the dead worker was replaced')
    await until('the replacement to close the dead worker\'s session',
      () => events.some(e => e.event === 'leftover-sessions-closed'))
    const again = await Promise.all(Array.from({ length: 50 }, () =>
      pool.encrypt({ deadline: soon(), keyLabel: 'foo', plaintext: Buffer.from('after'), gcmAad: AAD })))
    t.ok(again.every(o => o.ok), 'serves again')
  })

  t.test('deadlines: an operation that waits past its deadline is answered Overloaded and never executed', async t => {
    t.match(await pool.encrypt({ deadline: Date.now() - 1, keyLabel: 'foo', plaintext: Buffer.from('x'), gcmAad: AAD }),
      { ok: false, failure: { kind: 'Overloaded' } }, 'already past: answered at once')
    // Enough 4 KiB encrypts to keep both workers busy well past 20 ms; the last ones wait in the queue.
    const before = pool.stats()
    const started = Date.now()
    const ops = Array.from({ length: 3000 }, (_, i) =>
      pool.encrypt({ deadline: started + (i < 2900 ? 60_000 : 20), keyLabel: 'foo', plaintext: crypto.randomBytes(4096), gcmAad: AAD }))
    const late = await Promise.all(ops.slice(2900))
    const answeredAfter = Date.now() - started
    t.ok(late.every(o => !o.ok && o.failure.kind === 'Overloaded'), 'operations still queued at their deadline answer Overloaded')
    t.ok(answeredAfter < 1000, `the late ones were answered near their deadline (${answeredAfter} ms), not after the queue`)
    const outcomes = await Promise.all(ops.slice(0, 2900))
    t.ok(outcomes.every(o => o.ok), 'the others succeed')
    const carried = pool.stats().batchedOps - before.batchedOps
    t.ok(carried < 3000, `timed-out operations still queued were never sent (${carried} of 3000 sent)`)
  })

  t.test('close() drains queued work, then refuses new work', async t => {
    const other = await Pkcs11Pool.start({ ...base, threads: 2, maxBatch: 8 })
    const ops = Array.from({ length: 100 }, () =>
      other.encrypt({ deadline: soon(), keyLabel: 'foo', plaintext: crypto.randomBytes(32), gcmAad: AAD }))
    const closed = other.close()
    t.match(await other.encrypt({ deadline: soon(), keyLabel: 'foo', plaintext: Buffer.from('late'), gcmAad: AAD }),
      { ok: false, failure: { kind: 'Unavailable' } })
    await closed
    t.ok((await Promise.all(ops)).every(o => o.ok), 'queued work finished')
    t.match(other.stats(), { threads: 0, sessionsOpen: 0, queued: 0, inFlight: 0 })
  })
})
