/**
 * Request bodies as the official test client sends them (docs/xks-spec.md §14): pretty-printed with newlines, its
 * sample principal, key ARN and via-service, and no field sent as JSON null.
 */
import { randomBytes, randomUUID } from 'node:crypto'

export const b64 = (bytes: Buffer): string => bytes.toString('base64')
export const randomB64 = (n: number): string => b64(randomBytes(n))

/** The test client's inputs: the spec's example AAD (docs/xks-spec.md §5.2), a second AAD, two plaintexts. */
export const SAMPLE = {
  plaintext: b64(Buffer.from('plaintext\n')),
  hello: b64(Buffer.from('Hello World!')),
  aad: b64(Buffer.from('project=nile,department=marketing')),
  otherAad: b64(Buffer.from('project=blue,department=finance')),
} as const

/** The test client's body with an empty requestMetadata, byte for byte. */
export const EMPTY_METADATA = '{\n    "requestMetadata": {\n    }\n}'

export function pretty (body: unknown): string {
  return JSON.stringify(body, null, 4)
}

export function requestMetadata (kmsOperation: string): Record<string, unknown> {
  return {
    awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice',
    kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab',
    kmsOperation,
    kmsRequestId: randomUUID(),
    kmsViaService: 'ebs',
  }
}

export const healthBody = (): string => pretty({ requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: randomUUID() } })

export const metadataBody = (kmsOperation = 'DescribeKey'): string => pretty({ requestMetadata: requestMetadata(kmsOperation) })

export interface EncryptInput { plaintext?: string, aad?: string, cdiv?: boolean }

export function encryptBody (input: EncryptInput): string {
  return pretty({
    requestMetadata: requestMetadata('Encrypt'),
    ...(input.aad !== undefined && { additionalAuthenticatedData: input.aad }),
    ...(input.plaintext !== undefined && { plaintext: input.plaintext }),
    ...(input.cdiv === true && { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' }),
    encryptionAlgorithm: 'AES_GCM',
  })
}

/** A Decrypt of an Encrypt's answer; ciphertextMetadata only when the answer had one. */
export function decryptBody (encrypted: Record<string, unknown>, aad?: string): string {
  return pretty({
    requestMetadata: requestMetadata('Decrypt'),
    ...(aad !== undefined && { additionalAuthenticatedData: aad }),
    ciphertext: encrypted.ciphertext,
    initializationVector: encrypted.initializationVector,
    authenticationTag: encrypted.authenticationTag,
    ...(encrypted.ciphertextMetadata !== undefined && { ciphertextMetadata: encrypted.ciphertextMetadata }),
    encryptionAlgorithm: 'AES_GCM',
  })
}
