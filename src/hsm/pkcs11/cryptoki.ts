import * as pkcs11js from 'pkcs11js'
import type { TokenInfo } from '../types'

/**
 * The part of a pkcs11js.PKCS11 object the HSM layer calls. Code takes this narrow interface instead of the
 * class so that tests can wrap the real object (e.g. to inject one genuine CKR_DEVICE_ERROR).
 */
export type Pkcs11Api = Pick<pkcs11js.PKCS11,
  'C_Initialize' | 'C_Finalize' | 'C_GetInfo' | 'C_GetSlotList' | 'C_GetTokenInfo' |
  'C_OpenSession' | 'C_CloseSession' | 'C_GetSessionInfo' | 'C_Login' |
  'C_FindObjectsInit' | 'C_FindObjects' | 'C_FindObjectsFinal' | 'C_GetAttributeValue' |
  'C_EncryptInit' | 'C_Encrypt' | 'C_DecryptInit' | 'C_Decrypt' | 'C_GenerateRandom' | 'C_EncryptAsync' |
  'C_DecryptAsync'>

export type Handle = pkcs11js.Handle

/**
 * Loads the module into a new pkcs11js object. Each thread needs its own object (the addon is per isolate), but
 * dlopen returns the same library, so the Cryptoki state is per process. Keep the object referenced for the
 * thread's lifetime: pkcs11js dlcloses the library when the object is garbage-collected.
 */
export function loadModule (modulePath: string): pkcs11js.PKCS11 {
  const api = new pkcs11js.PKCS11()
  try {
    api.load(modulePath)
  } catch (err) {
    throw new Error(`PKCS#11 module ${modulePath} could not be loaded: ${(err as Error).message}`)
  }
  return api
}

export function isCkr (err: unknown, code: number): boolean {
  return err instanceof pkcs11js.Pkcs11Error && err.code === code
}

/**
 * C_Initialize with OS locking (without it SoftHSM runs without locks, unsafe with worker threads). Another
 * thread of this process may have initialised already: CKR_CRYPTOKI_ALREADY_INITIALIZED is success.
 * Callers serialise this through the InitGate.
 */
export function initialize (api: Pkcs11Api): void {
  try {
    api.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK })
  } catch (err) {
    if (!isCkr(err, pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw err
  }
}

/** C_Finalize for a re-initialise; "not initialised" (someone finalised already) is fine. */
export function finalize (api: Pkcs11Api): void {
  try {
    api.C_Finalize()
  } catch (err) {
    if (!isCkr(err, pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED)) throw err
  }
}

/** Token labels are blank-padded to 32 bytes. */
const trimPadded = (s: string): string => s.replace(/[\s\0]+$/, '')

/** No token with the label: at start a configuration error; while serving, an HSM that is down or unreachable. */
export class TokenNotFound extends Error {}

/**
 * Finds the slot by token label, never by slot id: SoftHSM moves an initialised token to a random slot id, and
 * real HSMs renumber slots when partitions change (and p11-kit's client when it reconnects to its server).
 */
export function findSlot (api: Pkcs11Api, tokenLabel: string): Handle {
  const slots = api.C_GetSlotList(true)
  for (const slot of slots) {
    if (trimPadded(api.C_GetTokenInfo(slot).label) === tokenLabel) return slot
  }
  const seen = slots.map(s => JSON.stringify(trimPadded(api.C_GetTokenInfo(s).label))).join(', ')
  throw new TokenNotFound(`token label ${JSON.stringify(tokenLabel)} not found (tokens present: ${seen || 'none'})`)
}

export function readTokenInfo (api: Pkcs11Api, slot: Handle): TokenInfo {
  const t = api.C_GetTokenInfo(slot)
  const lib = api.C_GetInfo()
  const v = (x: pkcs11js.Version): string => `${x.major}.${x.minor}`
  return {
    label: trimPadded(t.label),
    manufacturerId: trimPadded(t.manufacturerID),
    model: trimPadded(t.model),
    serialNumber: trimPadded(t.serialNumber),
    hardwareVersion: v(t.hardwareVersion),
    firmwareVersion: v(t.firmwareVersion),
    libraryDescription: trimPadded(lib.libraryDescription),
    libraryVersion: v(lib.libraryVersion),
  }
}
