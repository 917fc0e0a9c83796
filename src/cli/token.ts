/**
 * The operator commands' own HSM access: one session on the configured token, logged in as the user, for the
 * lifetime of one command. It never shares a process with the proxy's pool (the CLI runs in its own process), so
 * it may initialise and finalise the library itself. Failures name the configuration field to fix.
 */
import { createHash } from 'node:crypto'
import * as pkcs11js from 'pkcs11js'
import { ConfigError } from '../config/load'
import type { ResolvedHsmBackend, XksgateConfig } from '../config/schema'
import type { Secret } from '../config/secret'
import { findSlot, initialize, isCkr, loadModule, readTokenInfo, type Handle } from '../hsm/pkcs11/cryptoki'
import { gcmEncrypt } from '../hsm/pkcs11/gcm'
import { generateAesKey, type AesKeySpec, type GeneratedKey } from '../hsm/pkcs11/generate-key'
import { readKeyAttributes } from '../hsm/pkcs11/keys'
import { describe } from '../hsm/pkcs11/token-session'
import type { KeyAttributes, TokenInfo } from '../hsm/types'
import { hsmStartError } from '../runtime/startup-checks'

/** What a command needs to reach one token: the `hsm` section of the configuration. */
export interface TokenLogin {
  modulePath: string
  tokenLabel: string
  pin: Secret
  /** Where the backend is in the configuration (`/hsm`, `/hsm/1`), for messages naming a field. */
  field?: string
}

/**
 * The token the key commands work on: the backend named `backend` (`--hsm NAME`), by default the configuration's
 * first. Several backends normally hold the same keys because their HSM group replicates them (docs/hsm.md "Several
 * HSMs and failover"); `--hsm` reaches a member directly, to check or repair it.
 */
export function configuredToken (config: Pick<XksgateConfig, 'hsm'>, backend?: string): ResolvedHsmBackend {
  if (backend === undefined) return config.hsm[0]
  const found = config.hsm.find(b => b.name === backend)
  if (found === undefined) throw new ConfigError([`--hsm: no HSM backend named ${JSON.stringify(backend)} in /hsm (there are: ${config.hsm.map(b => b.name).join(', ')})`])
  return found
}

/** A secret key on the token as the operator commands show it. */
export interface TokenKey extends KeyAttributes {
  /** CKA_ID, hex ('' when empty). */
  id: string
  /** CKA_MODIFIABLE; undefined when the HSM does not report it. */
  modifiable?: boolean
  /** CKA_PRIVATE: invisible without a login. */
  private?: boolean
}

export class TokenSession {
  readonly #api: pkcs11js.PKCS11
  readonly #session: Handle
  readonly info: TokenInfo

  private constructor (api: pkcs11js.PKCS11, session: Handle, info: TokenInfo) {
    this.#api = api
    this.#session = session
    this.info = info
  }

  /** Loads the module, finds the token by label and logs in; throws an error naming the field at fault. */
  static open (login: TokenLogin): TokenSession {
    let api: pkcs11js.PKCS11
    try {
      api = loadModule(login.modulePath)
    } catch (err) {
      throw hsmStartError(err, login.field)
    }
    initialize(api)
    try {
      const slot = findSlot(api, login.tokenLabel)
      const session = api.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
      try {
        api.C_Login(session, pkcs11js.CKU_USER, login.pin.reveal())
      } catch (err) {
        if (!isCkr(err, pkcs11js.CKR_USER_ALREADY_LOGGED_IN)) throw err
      }
      return new TokenSession(api, session, readTokenInfo(api, slot))
    } catch (err) {
      api.C_Finalize()
      // SoftHSM silently shows an empty default token directory when it is not told where the tokens are.
      const hint = /softhsm/i.test(login.modulePath) && /token label .* not found/.test(describe(err)) && process.env.SOFTHSM2_CONF === undefined
        ? `; SoftHSM finds its tokens through SOFTHSM2_CONF, which is not set (set it in ${login.field ?? '/hsm'}/environment)`
        : ''
      throw hsmStartError(new Error(describe(err) + hint), login.field)
    }
  }

  /** Every secret key on the token, sorted by label. */
  secretKeys (): TokenKey[] {
    return this.#find([{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }])
      .map(handle => this.#describe(handle))
      .sort((a, b) => a.label.localeCompare(b.label))
  }

  /** The secret keys labelled `label`: normally none or one. */
  keysLabelled (label: string): TokenKey[] {
    return this.#find([{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_LABEL, value: label }])
      .map(handle => this.#describe(handle))
  }

  /**
   * SHA-256 of the AES-GCM encryption of one zero block under the key labelled `label`, with `iv` and `aad`: the
   * same on two HSMs exactly when they hold the same key material, and nothing about the key otherwise. Undefined
   * when there is not exactly one such key or it may not encrypt.
   */
  encryptionFingerprint (label: string, iv: Buffer, aad: Buffer): string | undefined {
    const handles = this.#find([{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_LABEL, value: label }])
    if (handles.length !== 1) return undefined
    try {
      return createHash('sha256').update(gcmEncrypt(this.#api, this.#session, handles[0], iv, aad, Buffer.alloc(16))).digest('hex')
    } catch (err) {
      if (isCkr(err, pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED) || isCkr(err, pkcs11js.CKR_KEY_TYPE_INCONSISTENT)) return undefined
      throw err
    }
  }

  generate (key: AesKeySpec): GeneratedKey {
    return generateAesKey(this.#api, this.#session, key)
  }

  close (): void {
    try {
      this.#api.C_CloseSession(this.#session)
    } finally {
      this.#api.C_Finalize()
    }
  }

  #find (template: pkcs11js.Template): Handle[] {
    this.#api.C_FindObjectsInit(this.#session, template)
    const found: Handle[] = []
    try {
      for (let batch = this.#api.C_FindObjects(this.#session, 64); batch.length > 0; batch = this.#api.C_FindObjects(this.#session, 64)) found.push(...batch)
    } finally {
      this.#api.C_FindObjectsFinal(this.#session)
    }
    return found
  }

  #describe (handle: Handle): TokenKey {
    const label = this.#optional(handle, pkcs11js.CKA_LABEL)?.toString('utf8') ?? ''
    const id = this.#optional(handle, pkcs11js.CKA_ID)
    const flag = (type: number): boolean | undefined => {
      const value = this.#optional(handle, type)
      return value === undefined || value.length === 0 ? undefined : value[0] !== 0
    }
    return {
      ...readKeyAttributes(this.#api, this.#session, handle, label),
      id: id?.toString('hex') ?? '',
      modifiable: flag(pkcs11js.CKA_MODIFIABLE),
      private: flag(pkcs11js.CKA_PRIVATE),
    }
  }

  /** One attribute, or undefined when this HSM does not have it for the object (CKR_ATTRIBUTE_TYPE_INVALID). */
  #optional (handle: Handle, type: number): Buffer | undefined {
    try {
      return this.#api.C_GetAttributeValue(this.#session, handle, [{ type }])[0].value as Buffer
    } catch (err) {
      if (isCkr(err, pkcs11js.CKR_ATTRIBUTE_TYPE_INVALID) || isCkr(err, pkcs11js.CKR_ATTRIBUTE_SENSITIVE)) return undefined
      throw err
    }
  }
}

/** Opens the token, runs `work`, always closes it. */
export function withToken<T> (login: TokenLogin, work: (token: TokenSession) => T): T {
  const token = TokenSession.open(login)
  try {
    return work(token)
  } finally {
    token.close()
  }
}
