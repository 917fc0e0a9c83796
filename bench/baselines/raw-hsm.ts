import crypto from 'node:crypto'
import * as pkcs11js from 'pkcs11js'

/**
 * Scenario b: AES-256-GCM encrypts of 4 KiB (with 256 bytes of AAD, a fresh random IV each) straight through
 * pkcs11js on one thread, with nothing else around them: the HSM's own per-thread ceiling.
 * Usage: SOFTHSM2_CONF=... node raw-hsm.js LIB LABEL PIN MS — prints one JSON line {"opsPerSec":…}.
 */

const [lib, label, pin, ms] = process.argv.slice(2)
const p11 = new pkcs11js.PKCS11()
p11.load(lib)
p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK })
const slot = p11.C_GetSlotList(true).find(s => p11.C_GetTokenInfo(s).label.trim() === label)
if (slot === undefined) throw new Error(`token ${label} not found`)
const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
p11.C_Login(session, pkcs11js.CKU_USER, pin)
const key = p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
  { type: pkcs11js.CKA_ENCRYPT, value: true },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
])

const plaintext = crypto.randomBytes(4096)
const aad = crypto.randomBytes(256)
const out = Buffer.alloc(4096 + 16)
const iv = Buffer.alloc(12)

function encryptOnce (): void {
  crypto.randomFillSync(iv)
  const parameter: pkcs11js.GcmParams = { type: pkcs11js.CK_PARAMS_AES_GCM, iv, ivBits: 96, aad, tagBits: 128 }
  p11.C_EncryptInit(session, { mechanism: pkcs11js.CKM_AES_GCM, parameter }, key)
  p11.C_Encrypt(session, plaintext, out)
}

for (let i = 0; i < 2000; i++) encryptOnce()
const t0 = performance.now()
const end = t0 + Number(ms)
let ops = 0
while (performance.now() < end) {
  for (let i = 0; i < 100; i++) encryptOnce()
  ops += 100
}
console.log(JSON.stringify({ opsPerSec: ops * 1000 / (performance.now() - t0) }))
p11.C_Logout(session)
p11.C_CloseSession(session)
p11.C_Finalize()
