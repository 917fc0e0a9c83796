/**
 * One log line per request, from an allow-list of fields (spec §"Logging": log requestMetadata, especially
 * kmsRequestId; never plaintext). Nothing from the body except these metadata strings ever reaches the log.
 */
import type { Logger } from '../log'
import type { RequestMetadata } from './validate'

export interface RequestLogEntry {
  operation?: string
  keyStore?: string
  keyId?: string
  accessKeyId?: string
  region?: string
  status: number
  errorName?: string
  /** Internal cause (e.g. a CKR_* name); never sent to the client. */
  detail?: string
  latencyMs: number
  remote: string
  metadata?: RequestMetadata
}

export function logRequest (log: Logger, entry: RequestLogEntry): void {
  const { metadata, ...rest } = entry
  const line = {
    ...rest,
    latencyMs: Math.round(entry.latencyMs * 1000) / 1000,
    kmsRequestId: metadata?.kmsRequestId,
    kmsOperation: metadata?.kmsOperation,
    principal: metadata?.awsPrincipalArn,
    kmsKeyArn: metadata?.kmsKeyArn,
    sourceVpce: metadata?.awsSourceVpce,
    viaService: metadata?.kmsViaService,
  }
  if (entry.status >= 500) log.warn(line, 'xks request')
  else log.info(line, 'xks request')
}
