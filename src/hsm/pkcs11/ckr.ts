import * as pkcs11js from 'pkcs11js'
import type { HsmFailureKind } from '../types'
import { TokenNotFound } from './cryptoki'

/**
 * What to do about a PKCS#11 error. Only 'fail' ends the operation at once; 'busy' retries it after a pause while
 * its deadline allows; the others name the repair after which TokenSession.run retries the operation once.
 */
export type Recovery =
  /** The session handle is dead: forget it (never close it: the number may be reused) and open a fresh one. */
  | 'reopen'
  /** The session lives but is stuck in an operation: close it and open a fresh one. */
  | 'reset'
  /** The session lost its login (another thread or app logged out): log in again. */
  | 'relogin'
  /** The library or device is broken: C_Finalize + C_Initialize while no other thread is inside PKCS#11. */
  | 'reinitialize'
  /** The cached key handle no longer names an object: find the key again by label. */
  | 'refind'
  /** The HSM is busy for now: wait a little and try again, as often as the operation's deadline allows. */
  | 'busy'
  | 'fail'

export interface Classified {
  recovery: Recovery
  /** The failure to report when recovery is 'fail' or the retry fails too. */
  kind: HsmFailureKind
  /** CKR_* name for logs, undefined when the error did not come from the module. */
  ckr: string | undefined
}

/** PKCS#11 v3.0 (OASIS pkcs11t.h); pkcs11js 2.1.7 only exports the v2.40 codes. */
const CKR_AEAD_DECRYPT_FAILED = 0x42

/** code → name, built once from the constants pkcs11js exports. */
const CKR_NAMES = new Map<number, string>([[CKR_AEAD_DECRYPT_FAILED, 'CKR_AEAD_DECRYPT_FAILED']])
for (const [name, value] of Object.entries(pkcs11js)) {
  if (name.startsWith('CKR_') && typeof value === 'number' && !CKR_NAMES.has(value)) CKR_NAMES.set(value, name)
}

export function ckrName (code: number): string {
  return CKR_NAMES.get(code) ?? `CKR_0x${code.toString(16)}`
}

const byCode = new Map<number, [Recovery, HsmFailureKind]>([
  [pkcs11js.CKR_SESSION_HANDLE_INVALID, ['reopen', 'Unavailable']],
  [pkcs11js.CKR_SESSION_CLOSED, ['reopen', 'Unavailable']],
  // A failed C_Encrypt with e.g. CKR_ARGUMENTS_BAD leaves the operation active (SoftHSM): reset the session.
  [pkcs11js.CKR_OPERATION_ACTIVE, ['reset', 'Unavailable']],
  [pkcs11js.CKR_OPERATION_NOT_INITIALIZED, ['reset', 'Unavailable']],
  [pkcs11js.CKR_USER_NOT_LOGGED_IN, ['relogin', 'Unavailable']],
  [pkcs11js.CKR_DEVICE_ERROR, ['reinitialize', 'Unavailable']],
  [pkcs11js.CKR_DEVICE_REMOVED, ['reinitialize', 'Unavailable']],
  [pkcs11js.CKR_TOKEN_NOT_PRESENT, ['reinitialize', 'Unavailable']],
  [pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED, ['reinitialize', 'Unavailable']],
  // The slot id went away: a network HSM's client that reconnected numbers its slots anew (p11-kit's does).
  [pkcs11js.CKR_SLOT_ID_INVALID, ['reinitialize', 'Unavailable']],
  [pkcs11js.CKR_KEY_HANDLE_INVALID, ['refind', 'KeyNotFound']],
  // What a network HSM at its capacity answers (CloudHSM, Luna); its vendors' own libraries retry it with backoff.
  [pkcs11js.CKR_FUNCTION_FAILED, ['busy', 'Unavailable']],
  [pkcs11js.CKR_OBJECT_HANDLE_INVALID, ['refind', 'KeyNotFound']],
  // Data errors: the request is wrong, the session is fine. Never evict a session for these.
  [pkcs11js.CKR_ENCRYPTED_DATA_INVALID, ['fail', 'AuthenticationFailed']],
  [pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE, ['fail', 'AuthenticationFailed']],
  [CKR_AEAD_DECRYPT_FAILED, ['fail', 'AuthenticationFailed']],
  [pkcs11js.CKR_SIGNATURE_INVALID, ['fail', 'AuthenticationFailed']],
  [pkcs11js.CKR_SIGNATURE_LEN_RANGE, ['fail', 'AuthenticationFailed']],
  [pkcs11js.CKR_MECHANISM_PARAM_INVALID, ['fail', 'AuthenticationFailed']],
  [pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED, ['fail', 'KeyUsageDenied']],
  [pkcs11js.CKR_KEY_TYPE_INCONSISTENT, ['fail', 'KeyUsageDenied']],
])

/**
 * Classifies an error thrown by a pkcs11js call. `phase` says which call: SoftHSM reports a GCM tag mismatch
 * in C_Decrypt as CKR_GENERAL_ERROR (its OpenSSL EVP final fails), so in that call alone it is a data error.
 */
export function classify (err: unknown, phase: 'decrypt' | 'other' = 'other'): Classified {
  // The token was not there after a re-initialise: the HSM is down or unreachable; re-initialise again later.
  if (err instanceof TokenNotFound) return { recovery: 'reinitialize', kind: 'Unavailable', ckr: undefined }
  if (!(err instanceof pkcs11js.Pkcs11Error)) return { recovery: 'fail', kind: 'Internal', ckr: undefined }
  const ckr = ckrName(err.code)
  if (phase === 'decrypt' && err.code === pkcs11js.CKR_GENERAL_ERROR) {
    return { recovery: 'fail', kind: 'AuthenticationFailed', ckr }
  }
  const known = byCode.get(err.code)
  if (known !== undefined) return { recovery: known[0], kind: known[1], ckr }
  return { recovery: 'fail', kind: 'Internal', ckr }
}
