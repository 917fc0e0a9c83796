import crypto from 'node:crypto'

/**
 * Request bodies are built once, before the run, as JSON text with a fixed-width hole for the kmsRequestId; the
 * hot path only writes 36 bytes into a pre-allocated buffer (see wire.ts). requestMetadata comes last and
 * kmsRequestId last within it, so that the part of the body that changes is at its very end (JSON objects are
 * unordered; KMS's own order is not part of the contract).
 */

export const ID_HOLE = '#'.repeat(36)

export type OpName = 'encrypt' | 'decrypt' | 'metadata' | 'health'

export interface Template {
  op: OpName
  /** The path as signed and sent. */
  path: string
  /** The JSON body with ID_HOLE where the kmsRequestId goes. */
  body: string
}

export interface Ciphertext {
  ciphertext: string
  initializationVector: string
  authenticationTag: string
  ciphertextMetadata?: string
}

const PRINCIPAL = 'arn:aws:iam::123456789012:user/bench'
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/6f1e8c8e-7a53-4e8e-9c3f-0e2d6a6b7c10'

/** The payload every Encrypt and Decrypt carries: 4 KiB of random plaintext and 256 bytes of AAD. */
export const PLAINTEXT_B64 = crypto.randomBytes(4096).toString('base64')
export const AAD_B64 = crypto.randomBytes(256).toString('base64')

const meta = (kmsOperation: string): object =>
  ({ awsPrincipalArn: PRINCIPAL, kmsKeyArn: KEY_ARN, kmsOperation, kmsViaService: 'ebs', kmsRequestId: ID_HOLE })

export function encryptTemplate (uriPrefix: string, keyId: string): Template {
  const body = {
    additionalAuthenticatedData: AAD_B64,
    plaintext: PLAINTEXT_B64,
    encryptionAlgorithm: 'AES_GCM',
    requestMetadata: meta('Encrypt'),
  }
  return { op: 'encrypt', path: `${uriPrefix}/keys/${keyId}/encrypt`, body: JSON.stringify(body) }
}

export function decryptTemplate (uriPrefix: string, keyId: string, ct: Ciphertext): Template {
  const body = {
    additionalAuthenticatedData: AAD_B64,
    encryptionAlgorithm: 'AES_GCM',
    ...ct,
    requestMetadata: meta('Decrypt'),
  }
  return { op: 'decrypt', path: `${uriPrefix}/keys/${keyId}/decrypt`, body: JSON.stringify(body) }
}

export function metadataTemplate (uriPrefix: string, keyId: string): Template {
  const body = { requestMetadata: { awsPrincipalArn: PRINCIPAL, kmsOperation: 'DescribeKey', kmsRequestId: ID_HOLE } }
  return { op: 'metadata', path: `${uriPrefix}/keys/${keyId}/metadata`, body: JSON.stringify(body) }
}

export function healthTemplate (uriPrefix: string): Template {
  const body = { requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: ID_HOLE } }
  return { op: 'health', path: `${uriPrefix}/health`, body: JSON.stringify(body) }
}

export type Mix = Record<OpName, number>

export const DEFAULT_MIX: Mix = { encrypt: 4, decrypt: 4, metadata: 1, health: 1 }

/** `encrypt:4,decrypt:4,metadata:1,health:1` (missing ops weigh 0). */
export function parseMix (text: string): Mix {
  const mix: Mix = { encrypt: 0, decrypt: 0, metadata: 0, health: 0 }
  for (const part of text.split(',')) {
    const [name, weight] = part.split(':')
    if (!(name in mix) || !/^\d+$/.test(weight ?? '')) throw new Error(`bad --mix element "${part}"`)
    mix[name as OpName] = Number(weight)
  }
  if (Object.values(mix).every(w => w === 0)) throw new Error('--mix has no positive weight')
  return mix
}

/**
 * The cyclic order in which a connection walks the templates: each op appears as often as its weight (decrypt
 * spread over the available ciphertexts), interleaved so that no op comes in long runs.
 */
export function schedule (templates: Template[], mix: Mix): number[] {
  const ops = Object.keys(mix) as OpName[]
  const byOp = ops.map(op => templates.map((t, i) => t.op === op ? i : -1).filter(i => i >= 0))
  // Every op gets weight × (most variants of any op) slots, so variants never change the mix.
  const variants = Math.max(...byOp.map(indexes => indexes.length))
  const slots: Array<{ index: number, key: number }> = []
  for (const [o, op] of ops.entries()) {
    const indexes = byOp[o]
    if (indexes.length === 0) continue
    const count = mix[op] * variants
    for (let k = 0; k < count; k++) slots.push({ index: indexes[k % indexes.length], key: (k + 0.5) / count })
  }
  return slots.sort((a, b) => a.key - b.key).map(s => s.index)
}

/** Every template of the mix: one per op, Decrypt once per ciphertext. */
export function buildTemplates (uriPrefix: string, keyId: string, ciphertexts: Ciphertext[]): Template[] {
  return [
    encryptTemplate(uriPrefix, keyId),
    ...ciphertexts.map(ct => decryptTemplate(uriPrefix, keyId, ct)),
    metadataTemplate(uriPrefix, keyId),
    healthTemplate(uriPrefix),
  ]
}

/** Ciphertexts of the right shape for servers that do not decrypt (the transport ceiling). */
export function fakeCiphertexts (n: number): Ciphertext[] {
  return Array.from({ length: n }, () => ({
    ciphertext: crypto.randomBytes(4096).toString('base64'),
    initializationVector: crypto.randomBytes(12).toString('base64'),
    authenticationTag: crypto.randomBytes(16).toString('base64'),
  }))
}
