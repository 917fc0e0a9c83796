import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import * as pkcs11js from 'pkcs11js'
import t from 'tap'
import { findSlot, initialize, loadModule } from '../../src/hsm/pkcs11/cryptoki'
import { gcmDecrypt, gcmEncrypt, TAG_BYTES } from '../../src/hsm/pkcs11/gcm'
import { findKey } from '../../src/hsm/pkcs11/keys'
import { repoRoot } from '../helpers/paths'
import { createShapedHsm } from '../helpers/shaped-hsm'
import { createTestToken } from '../helpers/softhsm'
import { until } from '../helpers/until'

const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION
const AAD = Buffer.from('aad')
const ckr = (code: number): { code: number } => ({ code })

t.test('the shaped HSM module over a real SoftHSM token', async t => {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  const { modulePath, control } = createShapedHsm(path.join(token.dir, 'shaped'))
  t.teardown(() => control.close())
  const api = loadModule(modulePath)
  initialize(api)
  const slot = findSlot(api, token.tokenLabel)
  const open = (): pkcs11js.Handle => api.C_OpenSession(slot, RW)
  const login = (s: pkcs11js.Handle): void => {
    try { api.C_Login(s, pkcs11js.CKU_USER, token.pin) } catch (err) {
      if ((err as pkcs11js.Pkcs11Error).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw err
    }
  }
  const sessions = Array.from({ length: 4 }, open)
  login(sessions[0])
  let key = findKey(api, sessions[0], 'foo')!.handle
  const iv = crypto.randomBytes(12)
  const plaintext = Buffer.from('through the shaped module')
  const encrypt = (s = sessions[0]): Buffer => gcmEncrypt(api, s, key, iv, AAD, plaintext)
  const timed = (fn: () => unknown): number => { const at = performance.now(); fn(); return performance.now() - at }
  /** Starts one encryption per session on libuv's threads, so that they run at once. */
  const encryptAtOnce = (on: pkcs11js.Handle[]): Array<Promise<Buffer>> => on.map(s => {
    const parameter: pkcs11js.AesGCM = { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad: AAD, ivBits: 96, tagBits: TAG_BYTES * 8 }
    api.C_EncryptInit(s, { mechanism: pkcs11js.CKM_AES_GCM, parameter }, key)
    return api.C_EncryptAsync(s, plaintext, Buffer.alloc(plaintext.length + TAG_BYTES))
  })

  t.test('forwards to SoftHSM unchanged when nothing is shaped', async t => {
    const sealed = encrypt()
    t.same(gcmDecrypt(api, sessions[1], key, iv, AAD, sealed), plaintext)
    t.equal(control.counters().ops, 2)
  })

  t.test('latency and jitter are added to each operation, and a change takes effect at once', async t => {
    control.set({ latencyMs: 40 })
    t.ok(timed(encrypt) >= 40, 'an operation takes at least the latency')
    control.set({ latencyMs: 10, jitterMs: 40, jitter: 'uniform' })
    const samples = Array.from({ length: 12 }, () => timed(encrypt))
    t.ok(Math.min(...samples) >= 10, 'never less than the fixed part')
    // All 12 draws below 10 ms of a uniform 0-40 ms jitter: probability 0.25^12, below one in ten million.
    t.ok(Math.max(...samples) >= 20, `the jitter spreads them (max ${Math.max(...samples).toFixed(1)} ms)`)
    control.set({ latencyMs: 0, jitterMs: 0 })
  })

  t.test('the capacity: queued beyond it, or refused as a busy HSM', async t => {
    control.resetCounters()
    control.set({ maxOps: 2, serviceMs: 150, capMode: 'queue' })
    const at = performance.now()
    const results = await Promise.all(encryptAtOnce(sessions))
    t.ok(results.every(r => r.length === plaintext.length + TAG_BYTES), 'all four complete')
    t.ok(performance.now() - at >= 300, 'four operations through two slots of 150 ms take two rounds')
    t.equal(control.counters().maxInFlight, 2, 'never more than two at once')
    t.ok(control.counters().maxAsked > 2, `more asked at once (${control.counters().maxAsked}) than the capacity holds`)
    t.equal(control.counters().asked, 0, 'none outstanding once all are answered')

    control.set({ maxOps: 1, serviceMs: 300, capMode: 'refuse' })
    const settled = await Promise.allSettled(encryptAtOnce(sessions.slice(0, 3)))
    const refused = settled.filter(s => s.status === 'rejected')
    t.ok(refused.length >= 1, 'three at once on one slot: the others are refused')
    t.match(refused.map(r => (r as PromiseRejectedResult).reason), refused.map(() => ckr(pkcs11js.CKR_FUNCTION_FAILED)))
    t.equal(control.counters().busyRefused, refused.length)
    control.set({ maxOps: 0, serviceMs: 0, capMode: 'queue' })
    t.equal(encrypt().length, plaintext.length + TAG_BYTES, 'a refused session can encrypt again (its operation ended)')
  })

  t.test('the session limit answers CKR_SESSION_COUNT', async t => {
    const now = control.counters().sessions
    t.equal(now, sessions.length)
    control.set({ maxSessions: now + 1 })
    const extra = open()
    t.throws(open, ckr(pkcs11js.CKR_SESSION_COUNT))
    t.equal(control.counters().sessionsRefused, 1)
    api.C_CloseSession(extra)
    api.C_CloseSession(open())
    control.set({ maxSessions: 0 })
  })

  t.test('faults on demand end the operation as a failed C_Encrypt does', async t => {
    for (const [kind, code] of [['function-failed', pkcs11js.CKR_FUNCTION_FAILED], ['device-error', pkcs11js.CKR_DEVICE_ERROR]] as const) {
      control.fault(kind)
      t.throws(() => encrypt(), ckr(code), kind)
      t.throws(() => encrypt(), ckr(code), `${kind} again`)
      control.fault('none')
      t.equal(encrypt().length, plaintext.length + TAG_BYTES, `after ${kind}, the same session works`)
    }
    control.fault('function-failed', { count: 1 })
    t.throws(() => encrypt(), ckr(pkcs11js.CKR_FUNCTION_FAILED))
    t.doesNotThrow(() => encrypt(), 'a count of one: the next one succeeds')
    control.resetCounters()
    control.fault('function-failed', { probability: 0.5 })
    let failed = 0
    for (let i = 0; i < 200; i++) {
      try { encrypt() } catch { failed++ }
    }
    control.fault('none')
    t.ok(failed > 50 && failed < 150, `about half fail (${failed} of 200)`)
    t.equal(control.counters().faults, failed)
  })

  t.test('a hang holds the operation until it is cleared, then it answers', async t => {
    control.fault('hang')
    const [pending] = encryptAtOnce([sessions[2]])
    let answered = false
    void pending.then(() => { answered = true })
    await until('the operation hangs', () => control.counters().hanging === 1)
    await new Promise(resolve => setTimeout(resolve, 100))
    t.notOk(answered, 'no answer while hanging')
    control.fault('none')
    t.same(gcmDecrypt(api, sessions[1], key, iv, AAD, await pending), plaintext)
  })

  t.test('a restart invalidates every open session and forgets the login', async t => {
    control.restart()
    for (const s of sessions) t.throws(() => encrypt(s), ckr(pkcs11js.CKR_SESSION_HANDLE_INVALID))
    t.equal(control.counters().sessions, 0)
    const fresh = open()
    t.throws(() => findKey(api, fresh, 'foo'), ckr(pkcs11js.CKR_USER_NOT_LOGGED_IN), 'a new session must log in again')
    login(fresh)
    // SoftHSM forgot the object handles with its last session, as an HSM does on a restart: look the key up again.
    key = findKey(api, fresh, 'foo')!.handle
    t.same(gcmDecrypt(api, fresh, key, iv, AAD, gcmEncrypt(api, fresh, key, iv, AAD, plaintext)), plaintext)
    sessions.splice(0, sessions.length, fresh, ...Array.from({ length: 3 }, open))
  })

  t.test('AES-GCM can be made unsupported, as by an HSM without it', async t => {
    control.set({ gcmUnsupported: true })
    t.throws(() => encrypt(), ckr(pkcs11js.CKR_MECHANISM_INVALID))
    t.notOk(api.C_GetMechanismList(slot).includes(pkcs11js.CKM_AES_GCM), 'not listed')
    t.throws(() => api.C_GetMechanismInfo(slot, pkcs11js.CKM_AES_GCM), ckr(pkcs11js.CKR_MECHANISM_INVALID))
    control.set({ gcmUnsupported: false })
    t.ok(api.C_GetMechanismList(slot).includes(pkcs11js.CKM_AES_GCM), 'listed again')
    t.doesNotThrow(() => encrypt())
  })

  t.test('the prebuilt library shapes from the environment alone', async t => {
    const script = `
      const pkcs11js = require('pkcs11js')
      const api = new pkcs11js.PKCS11(); api.load(process.argv[1]); api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK })
      const slot = api.C_GetSlotList(true)[0]
      const s = api.C_OpenSession(slot, ${RW})
      const at = performance.now(); api.C_GenerateRandom(s, Buffer.alloc(16)); const ms = performance.now() - at
      let count; try { api.C_OpenSession(slot, ${RW}) } catch (e) { count = e.code }
      console.log(JSON.stringify({ ms, count }))`
    const lib = path.join(token.dir, 'env-only.so')
    fs.copyFileSync(modulePath, lib)
    const { execFileSync } = await import('node:child_process')
    const out = execFileSync(process.execPath, ['-e', script, lib], {
      cwd: repoRoot,
      env: { ...process.env, SHAPED_HSM_LATENCY_US: '30000', SHAPED_HSM_MAX_SESSIONS: '1' },
    })
    const { ms, count } = JSON.parse(out.toString()) as { ms: number, count: number }
    t.ok(ms >= 30, `SHAPED_HSM_LATENCY_US applies (${ms.toFixed(1)} ms)`)
    t.equal(count, pkcs11js.CKR_SESSION_COUNT, 'SHAPED_HSM_MAX_SESSIONS applies')
  })
})
