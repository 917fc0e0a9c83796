/**
 * The words a policy statement may use (docs/authorization.md "Secondary authorization and quotas"). XKS operations are the three the
 * spec lets a proxy authorize (docs/xks-spec.md §10: GetHealthStatus never is); kmsOperation values are the KMS
 * APIs that reach each of them (docs/xks-spec.md §4.2, §5). A name outside these lists could never match a
 * request, so the compiler refuses it rather than let a typo silently deny (or, in a Deny, silently allow).
 */
import type { XksOperation } from '../xks/routes'

export type AuthorizedOperation = Exclude<XksOperation, 'health'>

/** Statement name of each XKS operation → the route's operation. */
export const XKS_OPERATIONS: ReadonlyMap<string, AuthorizedOperation> = new Map([
  ['GetKeyMetadata', 'metadata'], ['Encrypt', 'encrypt'], ['Decrypt', 'decrypt'],
])

/**
 * kmsOperation values and the XKS operations they arrive on. GetKeyMetadata: CreateKey (spec), DescribeKey (earlier
 * spec versions; the official test client still sends it). Encrypt: the spec's four, and the data-key-pair APIs,
 * which encrypt the pair's private key under the symmetric KMS key. Decrypt: Decrypt and ReEncrypt (its source
 * key). Future values (docs/xks-spec.md §4.1) need an entry here before a policy can name them.
 */
export const KMS_OPERATIONS: ReadonlyMap<string, readonly AuthorizedOperation[]> = new Map([
  ['CreateKey', ['metadata']],
  ['DescribeKey', ['metadata']],
  ['Encrypt', ['encrypt']],
  ['GenerateDataKey', ['encrypt']],
  ['GenerateDataKeyWithoutPlaintext', ['encrypt']],
  ['GenerateDataKeyPair', ['encrypt']],
  ['GenerateDataKeyPairWithoutPlaintext', ['encrypt']],
  ['ReEncrypt', ['encrypt', 'decrypt']],
  ['Decrypt', ['decrypt']],
])

/** The kmsOperation values of GetHealthStatus: naming them in a policy is a mistake worth its own message. */
export const HEALTH_KMS_OPERATIONS: ReadonlySet<string> = new Set(['KmsHealthCheck', 'CreateCustomKeyStore', 'ConnectCustomKeyStore', 'UpdateCustomKeyStore'])

/** Condition keys → the request field each one reads. `Region` is the SigV4 credential scope's region. */
export const CONDITION_KEYS = ['ViaService', 'SourceVpc', 'SourceVpce', 'Region', 'KeyArn'] as const
export type ConditionKey = typeof CONDITION_KEYS[number]

/** Statement fields, in the order they are checked and explained. */
export const STATEMENT_FIELDS = ['Sid', 'Effect', 'Principal', 'Operation', 'KmsOperation', 'Key', 'Condition'] as const

/** What a Deny-nothing, Allow-nothing request is decided by (Sids are alphanumeric, so it never names one). */
export const IMPLICIT_DENY = 'implicit-deny'
