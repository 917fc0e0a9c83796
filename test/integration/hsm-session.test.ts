import crypto from 'node:crypto'
import fs from 'node:fs'
import * as pkcs11js from 'pkcs11js'
import t from 'tap'
import { CryptokiContext, type HsmEvent } from '../../src/hsm/pkcs11/context'
import { loadModule, type Pkcs11Api } from '../../src/hsm/pkcs11/cryptoki'
import { InitGate } from '../../src/hsm/pkcs11/init-gate'
import { TokenSession, type IvSource } from '../../src/hsm/pkcs11/token-session'
import type { HsmOutcome } from '../../src/hsm/types'
import { vectorPath } from '../helpers/paths'
import { createTestToken } from '../helpers/softhsm'

interface GcmCase {
  name: string, key_hex: string, iv_hex: string, full_aad_hex: string, ct_hex: string, tag_hex: string,
  request_fields: { plaintext: string }
}
const vectors = JSON.parse(fs.readFileSync(vectorPath('gcm_vectors.json'), 'utf8')) as { cases: GcmCase[] }
const KNOWN_KEY = Buffer.from(vectors.cases[0].key_hex, 'hex')
const AAD = Buffer.from('000568656c6c6f00', 'hex')

const value = <T>(o: HsmOutcome<T>): T => {
  if (!o.ok) throw new Error(`expected success, got ${JSON.stringify(o.failure)}`)
  return o.value
}
const kind = (o: HsmOutcome<unknown>): string => o.ok ? 'ok' : o.failure.kind

/** Wraps the real module; `arm(method, code)` makes the next call of that method throw a genuine Pkcs11Error. */
function faultInjector (real: pkcs11js.PKCS11) {
  let armed: { method: string, code: number, times: number } | null = null
  let fired = 0
  const api = new Proxy(real, {
    get (target, prop: string) {
      const member = (target as unknown as Record<string, unknown>)[prop]
      if (typeof member !== 'function') return member
      return (...args: unknown[]) => {
        if (armed !== null && armed.method === prop) {
          const { code } = armed
          if (--armed.times === 0) armed = null
          fired++
          throw new pkcs11js.Pkcs11Error(`CKR_DEVICE_ERROR:${code}`, code, prop)
        }
        return (member as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  }) as Pkcs11Api
  return { api, arm: (method: keyof Pkcs11Api, code: number, times = 1) => { armed = { method, code, times } }, fired: () => fired }
}

t.test('TokenSession against a real SoftHSM token', async t => {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  const real = loadModule(token.modulePath)
  const faults = faultInjector(real)
  const gate = new InitGate(InitGate.create(1))
  const events: HsmEvent[] = []
  const ctx = new CryptokiContext(faults.api, gate, 0, token.tokenLabel, e => events.push(e))
  ctx.start()
  const newSession = (ivSource: IvSource = 'random'): TokenSession => {
    const s = new TokenSession(ctx, { pin: token.pin, ivSource })
    ctx.withShared(() => s.open())
    return s
  }
  const session = newSession()
  const inGate = <T>(fn: () => T): T => ctx.withShared(fn)
  t.teardown(() => { inGate(() => session.close()) })

  /** A second, read-write session of the test itself, for creating and destroying objects. */
  const admin = (): Buffer => {
    const h = real.C_OpenSession(ctx.slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
    try { real.C_Login(h, pkcs11js.CKU_USER, token.pin) } catch (err) {
      if ((err as pkcs11js.Pkcs11Error).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw err
    }
    return h
  }
  const createKnownKey = (label: string, keyBytes: Buffer): Buffer => real.C_CreateObject(admin(), [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: false },
    { type: pkcs11js.CKA_EXTRACTABLE, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_VALUE, value: keyBytes },
  ])
  createKnownKey('known', KNOWN_KEY)
  createKnownKey('aes128', crypto.randomBytes(16))

  t.test('encrypt/decrypt round trip, with both IV sources', async t => {
    for (const s of [session, newSession('hsm-random')]) {
      const plaintext = crypto.randomBytes(4096)
      const e = value(inGate(() => s.encrypt({ keyLabel: 'foo', plaintext, gcmAad: AAD })))
      t.equal(e.iv.length, 12)
      t.equal(e.tag.length, 16)
      t.equal(e.ciphertext.length, plaintext.length)
      t.equal(e.integrityDigest, undefined)
      const d = value(inGate(() => s.decrypt({ keyLabel: 'foo', ciphertext: e.ciphertext, tag: e.tag, iv: e.iv, gcmAad: AAD })))
      t.same(d.plaintext, plaintext)
    }
  })

  t.test('known-answer vectors and Node crypto agree with the token (12- and 16-byte IVs)', async t => {
    for (const v of vectors.cases) {
      const d = inGate(() => session.decrypt({
        keyLabel: 'known',
        ciphertext: Buffer.from(v.ct_hex, 'hex'),
        tag: Buffer.from(v.tag_hex, 'hex'),
        iv: Buffer.from(v.iv_hex, 'hex'),
        gcmAad: Buffer.from(v.full_aad_hex, 'hex'),
      }))
      t.same(value(d).plaintext, Buffer.from(v.request_fields.plaintext, 'base64'), v.name)
    }
    const iv16 = crypto.randomBytes(16)
    const plaintext = crypto.randomBytes(100)
    const cipher = crypto.createCipheriv('aes-256-gcm', KNOWN_KEY, iv16, { authTagLength: 16 }).setAAD(AAD)
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    const d = inGate(() => session.decrypt({ keyLabel: 'known', ciphertext, tag: cipher.getAuthTag(), iv: iv16, gcmAad: AAD }))
    t.same(value(d).plaintext, plaintext, '16-byte IV from Node crypto')
    const e = value(inGate(() => session.encrypt({ keyLabel: 'known', plaintext, gcmAad: AAD })))
    const decipher = crypto.createDecipheriv('aes-256-gcm', KNOWN_KEY, e.iv, { authTagLength: 16 }).setAAD(AAD)
    decipher.setAuthTag(e.tag)
    t.same(Buffer.concat([decipher.update(e.ciphertext), decipher.final()]), plaintext, 'Node decrypts the token')
  })

  t.test('tampering gives AuthenticationFailed and keeps the session', async t => {
    const plaintext = Buffer.from('Hello World!')
    const e = value(inGate(() => session.encrypt({ keyLabel: 'foo', plaintext, gcmAad: AAD })))
    const flip = (b: Buffer): Buffer => { const c = Buffer.from(b); c[0] ^= 1; return c }
    const before = { handle: session.handle, recoveries: { ...session.recoveries } }
    const base = { keyLabel: 'foo', ciphertext: e.ciphertext, tag: e.tag, iv: e.iv, gcmAad: AAD }
    for (const [name, req] of Object.entries({
      tag: { ...base, tag: flip(e.tag) },
      aad: { ...base, gcmAad: flip(AAD) },
      iv: { ...base, iv: flip(e.iv) },
      ciphertext: { ...base, ciphertext: flip(e.ciphertext) },
      'short tag': { ...base, tag: e.tag.subarray(0, 12) },
    })) {
      const d = inGate(() => session.decrypt(req))
      t.equal(kind(d), 'AuthenticationFailed', name)
    }
    t.equal(session.handle, before.handle, 'same session')
    t.same(session.recoveries, before.recoveries, 'no recovery for data errors')
    t.same(value(inGate(() => session.decrypt(base))).plaintext, plaintext, 'session still serves')
  })

  t.test('key usage and type checks', async t => {
    const enc = (keyLabel: string, integrityPrefix?: Buffer) =>
      kind(inGate(() => session.encrypt({ keyLabel, plaintext: Buffer.from('x'), gcmAad: AAD, integrityPrefix })))
    const dec = (keyLabel: string) => kind(inGate(() => session.decrypt({
      keyLabel, ciphertext: Buffer.from('x'), tag: Buffer.alloc(16), iv: Buffer.alloc(12), gcmAad: AAD,
    })))
    t.equal(enc('enc-only'), 'ok')
    t.equal(enc('enc-only', Buffer.alloc(0)), 'KeyUsageDenied', 'integrity path needs decrypt')
    t.equal(dec('enc-only'), 'KeyUsageDenied')
    t.equal(enc('dec-only'), 'KeyUsageDenied')
    t.equal(dec('dec-only'), 'AuthenticationFailed', 'decrypt allowed, bogus data')
    t.equal(enc('impotent'), 'KeyUsageDenied')
    t.equal(dec('impotent'), 'KeyUsageDenied')
    t.equal(enc('aes128'), 'KeyTypeInvalid')
    t.equal(dec('aes128'), 'KeyTypeInvalid')
    t.equal(enc('missing'), 'KeyNotFound')
    t.equal(kind(inGate(() => session.describeKey('missing'))), 'KeyNotFound')
  })

  t.test('describeKey and tokenInfo', async t => {
    t.same(value(inGate(() => session.describeKey('foo'))), {
      label: 'foo', keyType: 'AES', keyBits: 256, canEncrypt: true, canDecrypt: true, otherUsages: [], extractable: false, sensitive: true,
    })
    t.match(value(inGate(() => session.describeKey('dec-only'))), { canEncrypt: false, canDecrypt: true })
    t.match(value(inGate(() => session.describeKey('aes128'))), { keyType: 'AES', keyBits: 128 })
    t.match(value(inGate(() => session.tokenInfo())), {
      label: token.tokenLabel, manufacturerId: 'SoftHSM project', model: 'SoftHSM v2', libraryVersion: /^2\./,
    })
  })

  t.test('integrity prefix: digest over prefix||iv||ct||tag, then a verification decrypt', async t => {
    const integrityPrefix = Buffer.from('aad-and-metadata')
    const plaintext = crypto.randomBytes(300)
    const e = value(inGate(() => session.encrypt({ keyLabel: 'foo', plaintext, gcmAad: AAD, integrityPrefix })))
    const expected = crypto.createHash('sha256').update(Buffer.concat([integrityPrefix, e.iv, e.ciphertext, e.tag])).digest()
    t.same(e.integrityDigest, expected)
  })

  const encryptOnce = (): string => kind(inGate(() => session.encrypt({ keyLabel: 'foo', plaintext: Buffer.from('p'), gcmAad: AAD })))

  t.test('recovers from a session closed behind its back', async t => {
    const reopened = session.recoveries.reopen
    real.C_CloseSession(session.handle as Buffer)
    t.equal(encryptOnce(), 'ok')
    t.equal(session.recoveries.reopen, reopened + 1)
    t.ok(events.some(e => e.event === 'session-reopened' && e.ckr === 'CKR_SESSION_HANDLE_INVALID'))
  })

  t.test('recovers from a logout behind its back', async t => {
    const relogins = session.recoveries.relogin
    real.C_Logout(session.handle as Buffer)
    t.equal(encryptOnce(), 'ok')
    t.equal(session.recoveries.relogin, relogins + 1)
    t.ok(events.some(e => e.event === 'relogin'))
  })

  t.test('re-finds a key whose object was destroyed and recreated', async t => {
    const a = admin()
    t.equal(encryptOnce(), 'ok', 'caches the handle of foo')
    real.C_FindObjectsInit(a, [{ type: pkcs11js.CKA_LABEL, value: 'foo' }])
    const [old] = real.C_FindObjects(a, 1)
    real.C_FindObjectsFinal(a)
    real.C_DestroyObject(a, old)
    createKnownKey('foo', crypto.randomBytes(32))
    const refinds = session.recoveries.refind
    t.equal(encryptOnce(), 'ok')
    t.equal(session.recoveries.refind, refinds + 1)
    t.ok(events.some(e => e.event === 'key-refound'))
  })

  t.test('re-initialises after C_Finalize behind its back', async t => {
    const generation = gate.generation
    const reinits = session.recoveries.reinitialize
    real.C_Finalize()
    t.equal(encryptOnce(), 'ok')
    t.equal(session.recoveries.reinitialize, reinits + 1)
    t.equal(gate.generation, generation + 1)
    t.ok(events.some(e => e.event === 'reinitialized' && e.ckr === 'CKR_CRYPTOKI_NOT_INITIALIZED'))
  })

  t.test('re-initialises after an injected CKR_DEVICE_ERROR', async t => {
    const generation = gate.generation
    const reinits = session.recoveries.reinitialize
    const seen = events.length
    faults.arm('C_EncryptInit', pkcs11js.CKR_DEVICE_ERROR)
    const plaintext = Buffer.from('after the device error')
    const e = value(inGate(() => session.encrypt({ keyLabel: 'foo', plaintext, gcmAad: AAD })))
    t.equal(faults.fired(), 1)
    t.equal(session.recoveries.reinitialize, reinits + 1)
    t.equal(gate.generation, generation + 1)
    t.match(events.slice(seen), [{ event: 'reinitialized', ckr: 'CKR_DEVICE_ERROR' }, { event: 'session-opened' }])
    const d = inGate(() => session.decrypt({ keyLabel: 'foo', ciphertext: e.ciphertext, tag: e.tag, iv: e.iv, gcmAad: AAD }))
    t.same(value(d).plaintext, plaintext, 'the real token serves after the re-initialise')
  })

  t.test('retries once only: a second device error is reported as Unavailable', async t => {
    const reinits = session.recoveries.reinitialize
    const fired = faults.fired()
    faults.arm('C_EncryptInit', pkcs11js.CKR_DEVICE_ERROR, 2)
    const o = inGate(() => session.encrypt({ keyLabel: 'foo', plaintext: Buffer.from('p'), gcmAad: AAD }))
    t.match(o, { ok: false, failure: { kind: 'Unavailable', ckr: 'CKR_DEVICE_ERROR' } })
    t.equal(faults.fired(), fired + 2)
    t.equal(session.recoveries.reinitialize, reinits + 1)
    t.equal(encryptOnce(), 'ok', 'the next operation re-initialises and succeeds')
  })

  t.test('an HSM refusal of the key usage is KeyUsageDenied, without a retry', async t => {
    const fired = faults.fired()
    faults.arm('C_EncryptInit', pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED)
    const o = inGate(() => session.encrypt({ keyLabel: 'foo', plaintext: Buffer.from('p'), gcmAad: AAD }))
    t.match(o, { ok: false, failure: { kind: 'KeyUsageDenied', ckr: 'CKR_KEY_FUNCTION_NOT_PERMITTED' } })
    t.equal(faults.fired(), fired + 1)
  })
})
