/**
 * The narrow interface between the XKS core and the key manager. The core only ever sees these types; the
 * PKCS#11 details (sessions, handles, CKR_* codes) stay behind it.
 */

export interface KeyAttributes {
  label: string
  /** 'AES' for CKK_AES; otherwise the CKK_* name without prefix (e.g. 'DES3', 'GENERIC_SECRET'). */
  keyType: string
  /** Key length in bits (CKA_VALUE_LEN * 8 for secret keys). */
  keyBits: number
  canEncrypt: boolean
  canDecrypt: boolean
  /** Further usages the key allows, upper-case (WRAP, UNWRAP, SIGN, VERIFY, DERIVE), for GetKeyMetadata. */
  otherUsages: string[]
  /** CKA_EXTRACTABLE: the key material may be wrapped out of the HSM. */
  extractable: boolean
  /** CKA_SENSITIVE: the key value can never be read in plaintext. */
  sensitive: boolean
}

export type HsmFailureKind =
  /** No key with that label on the token. */
  | 'KeyNotFound'
  /** The key lacks CKA_ENCRYPT/CKA_DECRYPT for the operation (or the HSM said CKR_KEY_FUNCTION_NOT_PERMITTED). */
  | 'KeyUsageDenied'
  /** The key is not an AES-256 key. */
  | 'KeyTypeInvalid'
  /** GCM authentication failed: the ciphertext, IV, tag or AAD does not match. */
  | 'AuthenticationFailed'
  /** The verification decrypt after an Encrypt did not give back the plaintext. */
  | 'VerificationFailed'
  /** The HSM cannot be used right now (device error, session could not be reopened, not logged in...). */
  | 'Unavailable'
  /** The HSM did not answer by the operation's deadline. */
  | 'Timeout'
  /** The operation waited for a free worker until its deadline and was never executed: the proxy is overloaded. */
  | 'Overloaded'
  /** Anything else. */
  | 'Internal'

export interface HsmFailure {
  kind: HsmFailureKind
  /** The PKCS#11 return value name when there was one (e.g. 'CKR_DEVICE_ERROR'); for logs only. */
  ckr?: string
  message: string
  /** The backend that answered it (set by the router), so a log line names the HSM that failed. */
  backend?: string
}

export type HsmOutcome<T> = { ok: true, value: T } | { ok: false, failure: HsmFailure }

/**
 * Wall-clock time (ms since the epoch) by which the caller needs the answer. Past it the backend answers Timeout
 * if the HSM had the operation, or Overloaded if it was still waiting for a worker (then it is never executed).
 */
export interface Deadline { deadline: number }

export interface EncryptRequest extends Deadline {
  keyLabel: string
  plaintext: Buffer
  /** The exact AES-GCM AAD to use (already built by the XKS layer from the request AAD and metadata). */
  gcmAad: Buffer
  /**
   * When set, the caller wants a ciphertext data integrity value: right after the encrypt, the backend computes
   * SHA-256(integrityPrefix || iv || ciphertext || tag), and only then runs a verification decrypt that must give
   * back the plaintext (spec Appendix C order). A key without decrypt usage fails with KeyUsageDenied.
   */
  integrityPrefix?: Buffer
}

export interface EncryptResult {
  ciphertext: Buffer
  /** 16 bytes. */
  tag: Buffer
  /** 12 bytes. */
  iv: Buffer
  /** Present iff integrityPrefix was given. */
  integrityDigest?: Buffer
}

export interface DecryptRequest extends Deadline {
  keyLabel: string
  ciphertext: Buffer
  tag: Buffer
  /** 12 or 16 bytes. */
  iv: Buffer
  gcmAad: Buffer
}

export interface DecryptResult {
  plaintext: Buffer
}

export interface TokenInfo {
  label: string
  manufacturerId: string
  model: string
  serialNumber: string
  hardwareVersion: string
  firmwareVersion: string
  libraryDescription: string
  libraryVersion: string
}

/** Read synchronously by metrics and readiness; cheap. */
export interface HsmStats {
  threads: number
  /** Sessions currently open and logged in, over all threads. */
  sessionsOpen: number
  /** Operations waiting for a worker. */
  queued: number
  /** Operations handed to a worker and not yet answered. */
  inFlight: number
  /** Batches sent to workers so far, and the operations they carried (their ratio is the mean batch size). */
  batches: number
  batchedOps: number
  /** Operations the HSM may have at once now: learnt from its latency (src/hsm/concurrency-limit.ts). */
  concurrencyLimit: number
}

export interface HsmBackend {
  encrypt (req: EncryptRequest): Promise<HsmOutcome<EncryptResult>>
  decrypt (req: DecryptRequest): Promise<HsmOutcome<DecryptResult>>
  describeKey (keyLabel: string, deadline: number): Promise<HsmOutcome<KeyAttributes>>
  tokenInfo (deadline: number): Promise<HsmOutcome<TokenInfo>>
  stats (): HsmStats
  /** Lets queued work finish, then closes sessions. Never C_Finalize while another thread uses the library. */
  close (): Promise<void>
}
