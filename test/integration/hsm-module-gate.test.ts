/**
 * Two pools on one PKCS#11 module share its init gate (src/hsm/pkcs11/module-gates.ts): while another thread holds
 * that gate exclusively, as a re-initialise after CKR_DEVICE_ERROR does, neither pool's threads enter the library;
 * with a gate per pool, the other pool's threads would run on under a C_Finalize.
 */
import { Worker } from 'node:worker_threads'
import t from 'tap'
import { leaseGateLanes } from '../../src/hsm/pkcs11/module-gates'
import { Pkcs11Pool } from '../../src/hsm/pool'
import { createTestTokens, type TestTokenPair } from '../helpers/softhsm'

// Long enough that a loaded host's slow encrypt (hundreds of ms at load average 20-30) cannot pass for a wait.
const HOLD_MS = 3000

/** A thread that holds the gate exclusively for HOLD_MS once told, and says when it has it. */
const HOLDER = `
const { parentPort, workerData } = require('node:worker_threads')
const { InitGate } = require(workerData.initGate)
const gate = new InitGate(workerData.buffer, workerData.base)
gate.exclusive(0, () => {
  parentPort.postMessage('holding')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs)
})
parentPort.postMessage('released')
`

let tokens: TestTokenPair
const pools: Pkcs11Pool[] = []

t.before(async () => {
  tokens = await createTestTokens(2)
  for (const tokenLabel of tokens.tokenLabels) {
    pools.push(await Pkcs11Pool.start({ modulePath: tokens.modulePath, tokenLabel, pin: tokens.pin, threads: 1, sessionsPerThread: 1, ivSource: 'random', maxBatch: 8 }))
  }
})
t.teardown(async () => {
  await Promise.all(pools.map(async p => await p.close()))
  tokens?.cleanup()
})

const encrypt = (pool: Pkcs11Pool): Promise<number> => {
  const started = performance.now()
  return pool.encrypt({ keyLabel: 'foo', plaintext: Buffer.alloc(32), gcmAad: Buffer.alloc(0), deadline: Date.now() + 5000 })
    .then(outcome => {
      if (!outcome.ok) throw new Error(outcome.failure.message)
      return performance.now() - started
    })
}

t.test('an exclusive hold on the module gate stops both pools on that module, and both go on after it', async t => {
  const lease = leaseGateLanes(tokens.modulePath, 1)
  t.teardown(() => lease.release())
  const again = leaseGateLanes(tokens.modulePath, 1)
  t.equal(again.buffer, lease.buffer, 'one gate per module')
  t.not(again.base, lease.base, 'each lease its own lanes')
  again.release()

  const holder = new Worker(HOLDER, {
    eval: true,
    workerData: { initGate: require.resolve('../../src/hsm/pkcs11/init-gate'), buffer: lease.buffer, base: lease.base, holdMs: HOLD_MS },
  })
  await new Promise(resolve => holder.once('message', resolve))
  const released = new Promise(resolve => holder.once('message', resolve))
  const waited = await Promise.all(pools.map(encrypt))
  await released
  for (const [i, ms] of waited.entries()) t.ok(ms > HOLD_MS / 2, `pool ${i + 1} waited for the hold (${Math.round(ms)} ms)`)
  const after = await Promise.all(pools.map(encrypt))
  for (const [i, ms] of after.entries()) t.ok(ms < HOLD_MS / 2, `pool ${i + 1} serves at once after it (${Math.round(ms)} ms)`)
})
