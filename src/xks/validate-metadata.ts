/**
 * requestMetadata (docs/xks-spec.md §4). The proxy checks only presence and types: kmsRequestId is opaque, kmsOperation
 * may hold values the spec does not list yet, ARNs are not parsed (awsPrincipalArn may be "AWS Internal"), and
 * unknown members are ignored (docs/xks-spec.md §4.1).
 */
import { XksError } from './errors'
import { type Json, fail, isAbsent, isJsonObject, optionalString, requiredString } from './validate-fields'

export interface RequestMetadata {
  kmsRequestId: string
  kmsOperation: string
  awsPrincipalArn?: string
  kmsKeyArn?: string
  awsSourceVpc?: string
  awsSourceVpce?: string
  kmsViaService?: string
}

/**
 * Which members an API requires (docs/xks-spec.md §4.2 matrix): health needs kmsRequestId and kmsOperation, keyMetadata
 * adds awsPrincipalArn, crypto (Encrypt/Decrypt) adds kmsKeyArn. Other known members are optional everywhere and
 * type-checked when present.
 */
export type MetadataLevel = 'health' | 'keyMetadata' | 'crypto'

/**
 * The spec requires support for ARNs up to 2048 characters (docs/xks-spec.md §4.1). Longer ones exceed our maximum, which
 * the spec answers with 501 UnsupportedOperationException (docs/xks-spec.md §7.2); IAM itself caps ARNs at 2048.
 */
export const MAX_ARN_CHARS = 2048

export function parseRequestMetadata (json: Json, level: MetadataLevel): RequestMetadata {
  const raw = json.requestMetadata
  if (isAbsent(raw)) fail('requestMetadata is required')
  if (!isJsonObject(raw)) fail('requestMetadata must be an object')
  // One object literal with every member keeps a single hidden class for all requests
  return {
    kmsRequestId: requiredString(raw.kmsRequestId, 'requestMetadata.kmsRequestId'),
    kmsOperation: requiredString(raw.kmsOperation, 'requestMetadata.kmsOperation'),
    awsPrincipalArn: arn(raw.awsPrincipalArn, 'requestMetadata.awsPrincipalArn', level !== 'health'),
    kmsKeyArn: arn(raw.kmsKeyArn, 'requestMetadata.kmsKeyArn', level === 'crypto'),
    awsSourceVpc: optionalString(raw.awsSourceVpc, 'requestMetadata.awsSourceVpc'),
    awsSourceVpce: optionalString(raw.awsSourceVpce, 'requestMetadata.awsSourceVpce'),
    kmsViaService: optionalString(raw.kmsViaService, 'requestMetadata.kmsViaService'),
  }
}

function arn (value: unknown, field: string, required: boolean): string | undefined {
  const text = required ? requiredString(value, field) : optionalString(value, field)
  if (text !== undefined && text.length > MAX_ARN_CHARS) {
    throw new XksError('UnsupportedOperationException', `${field} is longer than ${MAX_ARN_CHARS} characters`)
  }
  return text
}
