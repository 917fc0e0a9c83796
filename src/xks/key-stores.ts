/**
 * The logical key stores, one per URI prefix (spec §"URI path prefix"), each with its own credentials and keys.
 * The XKS core sees only what it needs: names, keys and the compiled SigV4 policy. The configuration (and its
 * secrets) stays behind; the secrets live on only inside the policy's signing-key derivation.
 */
import { keyVersions } from '../config/key-versions'
import type { ResolvedKeyStore } from '../config/schema'
import { compilePolicy } from '../policy/compile'
import { CompiledPolicy } from '../policy/policy'
import { TokenBucket } from './quota'
import { CompiledSigV4Policy } from './sigv4'

export interface ExternalKey {
  /** CKA_LABEL of the version Encrypt and GetKeyMetadata use (the newest). */
  label: string
  /** That version's number, recorded in the ciphertextMetadata of every Encrypt. */
  version: number
  /** Every version Decrypt can use, by number (the encrypting one included). */
  decryptLabels: ReadonlyMap<number, string>
  disabled: boolean
}

export interface KeyStore {
  name: string
  /** A compact id for the replay cache, unique among the key stores (see buildKeyStores). */
  index: number
  uriPrefix: string
  /** externalKeyId → key. Resolution is a plain lookup, so one id can never mean two keys. */
  keys: ReadonlyMap<string, ExternalKey>
  sigv4: CompiledSigV4Policy
  /** Secondary authorization; absent: every authenticated request is allowed (docs/authorization.md "Secondary authorization and quotas"). */
  policy?: CompiledPolicy
  /** This process's share of the key store's quota; absent: no quota. */
  quota?: TokenBucket
}

/**
 * `processes`: serving processes on this host, which share each key store's quota. `indexOf` gives each key
 * store its replay-cache index (default: its position); a process reloaded in place keeps one per name.
 */
export function buildKeyStores (stores: readonly ResolvedKeyStore[], maxSkewSeconds: number, processes = 1,
  indexOf?: (name: string) => number): KeyStore[] {
  return stores.map((store, position) => ({
    name: store.name,
    index: indexOf === undefined ? position : indexOf(store.name),
    uriPrefix: store.uriPrefix,
    keys: new Map(Object.entries(store.keys).map(([id, key]) => [id, {
      label: key.label,
      version: key.version ?? 1,
      decryptLabels: new Map(keyVersions(key).map(v => [v.version, v.label])),
      disabled: key.disabled ?? false,
    }])),
    sigv4: new CompiledSigV4Policy({
      // The one place secrets are revealed on their way into the XKS core: into the signing-key derivation.
      credentials: store.credentials.map(c => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey.reveal() })),
      allowedRegions: store.allowedRegions,
      maxSkewSeconds,
    }),
    policy: store.policy === undefined ? undefined : compiledPolicy(store),
    quota: store.quota === undefined ? undefined : new TokenBucket(store.quota.rate, store.quota.burst, processes),
  }))
}

/** The configuration was validated at load (src/config/load.ts), so compiling it again cannot fail. */
function compiledPolicy (store: ResolvedKeyStore): CompiledPolicy {
  const compiled = compilePolicy(store.policy, { keyIds: Object.keys(store.keys), allowedRegions: store.allowedRegions })
  if ('problems' in compiled) throw new Error(`key store ${store.name}: invalid policy: ${compiled.problems.join('; ')}`)
  return new CompiledPolicy(compiled.statements)
}
