/**
 * Child-process helper of softhsm.ts: initialises the token if there is none with the label, then creates the
 * missing AES-256 keys. Reads a SoftHsmSetupRequest as JSON on stdin, writes a SoftHsmSetupResult on stdout.
 * Running in its own process keeps the parent free of any Cryptoki state (a C_Finalize there could break a pool
 * that starts later).
 */
import * as pkcs11js from 'pkcs11js'
import { findSlot, initialize, loadModule } from './pkcs11/cryptoki'
import { aesKeyTemplate, generateAesKey } from './pkcs11/generate-key'
import type { SoftHsmSetupRequest, SoftHsmSetupResult } from './softhsm'

type KeySpec = SoftHsmSetupRequest['keys'][number]

const RW_SESSION = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION
// PKCS#11 token labels are 32 bytes, blank-padded (pkcs11js would pad with NULs).
const LABEL_BYTES = 32

function main (req: SoftHsmSetupRequest): SoftHsmSetupResult {
  const api = loadModule(req.modulePath)
  initialize(api)
  try {
    const createdToken = ensureToken(api, req)
    const session = api.C_OpenSession(findSlot(api, req.tokenLabel), RW_SESSION)
    api.C_Login(session, pkcs11js.CKU_USER, req.pin)
    const createdKeys = req.keys.filter(key => ensureKey(api, session, key))
    api.C_CloseSession(session)
    return { createdToken, createdKeys: createdKeys.map(key => key.label) }
  } finally {
    api.C_Finalize()
  }
}

/** SoftHSM always offers one uninitialised slot: the token goes there, its user PIN is set by the SO. */
function ensureToken (api: pkcs11js.PKCS11, req: SoftHsmSetupRequest): boolean {
  const slots = api.C_GetSlotList(true)
  const label = (slot: pkcs11js.Handle): string => api.C_GetTokenInfo(slot).label.replace(/[\s\0]+$/, '')
  if (slots.some(slot => label(slot) === req.tokenLabel)) return false
  const free = slots.find(slot => (api.C_GetTokenInfo(slot).flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0)
  if (free === undefined) throw new Error('SoftHSM offers no uninitialised slot for a new token')
  api.C_InitToken(free, req.soPin, req.tokenLabel.padEnd(LABEL_BYTES, ' '))
  const session = api.C_OpenSession(free, RW_SESSION)
  api.C_Login(session, pkcs11js.CKU_SO, req.soPin)
  api.C_InitPIN(session, req.pin)
  api.C_Logout(session)
  api.C_CloseSession(session)
  return true
}

/** Generates (or imports) the key unless one with its label exists; true if it made it. */
function ensureKey (api: pkcs11js.PKCS11, session: pkcs11js.Handle, key: KeySpec): boolean {
  api.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: key.label },
  ])
  const exists = api.C_FindObjects(session, 1).length > 0
  api.C_FindObjectsFinal(session)
  if (exists) return false
  if (key.value === undefined) {
    generateAesKey(api, session, key)
    return true
  }
  // Development tokens only: the same value imported into each (provisionSoftHsmGroup).
  const value = Buffer.from(key.value, 'base64')
  if (value.length !== 32) throw new Error(`key ${key.label}: an imported AES-256 value is 32 bytes, got ${value.length}`)
  api.C_CreateObject(session, [{ type: pkcs11js.CKA_VALUE, value }, ...aesKeyTemplate(key)])
  value.fill(0)
  return true
}

let input = ''
process.stdin.on('data', (d: Buffer) => { input += d.toString() })
process.stdin.on('end', () => {
  try {
    process.stdout.write(JSON.stringify(main(JSON.parse(input) as SoftHsmSetupRequest)))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 1
  }
})
