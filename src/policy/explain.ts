/**
 * `xksgate policy explain`: the decision a key store's policy makes for one request, and for every statement
 * whether it matched and, if not, the first field that did not (with the request's value of it). It runs the
 * same compiled statements and the same matching as the proxy (./policy.ts), only without stopping early.
 */
import type { ResolvedKeyStore } from '../config/schema'
import { RouteTable } from '../xks/routes'
import { parseRequestMetadata, type RequestMetadata } from '../xks/validate-metadata'
import { compilePolicy } from './compile'
import { CompiledPolicy, conditionValue, firstMismatch } from './policy'
import { CONDITION_KEYS, type AuthorizedOperation, type ConditionKey } from './vocabulary'

export interface StatementVerdict { sid: string, effect: 'Allow' | 'Deny', matched: boolean, mismatch?: { field: string, requestValue: string | null } }

export interface Explanation {
  keyStore: string
  operation: string
  keyId?: string
  region?: string
  kmsOperation?: string
  /** `exempt`: GetHealthStatus, never subject to policies; `no-policy`: the key store has none (allowed). */
  decision: 'allow' | 'deny'
  reason: 'exempt' | 'no-policy' | 'unknown-key' | 'statement'
  sid?: string
  statements: StatementVerdict[]
}

/** What `--request` holds: the path the request goes to, the SigV4 scope region, and the body's requestMetadata. */
export interface ExplainRequest { path: string, region?: string, requestMetadata: unknown }

const API_NAMES = { health: 'GetHealthStatus', metadata: 'GetKeyMetadata', encrypt: 'Encrypt', decrypt: 'Decrypt' } as const

/** Throws an XksError (route, metadata) or Error (shape) for a request the proxy would refuse before authorization. */
export function explain (stores: readonly ResolvedKeyStore[], request: ExplainRequest): Explanation {
  const route = new RouteTable(stores).match('POST', request.path)
  const store = route.store
  const base = { keyStore: store.name, operation: API_NAMES[route.operation], keyId: route.keyId, region: request.region, statements: [] }
  if (route.operation === 'health') return { ...base, decision: 'allow', reason: 'exempt' }
  const metadata = parseRequestMetadata({ requestMetadata: request.requestMetadata as never }, route.operation === 'metadata' ? 'keyMetadata' : 'crypto')
  const withOp = { ...base, kmsOperation: metadata.kmsOperation }
  const keyId = route.keyId ?? ''
  // The proxy answers 404 KeyNotFoundException before authorization (docs/xks-spec.md §7.4 steps 6-7).
  if (store.keys[keyId] === undefined) return { ...withOp, decision: 'deny', reason: 'unknown-key' }
  if (store.policy === undefined) return { ...withOp, decision: 'allow', reason: 'no-policy' }
  const compiled = compilePolicy(store.policy, { keyIds: Object.keys(store.keys), allowedRegions: store.allowedRegions })
  if ('problems' in compiled) throw new Error(compiled.problems.join('\n'))
  const policy = new CompiledPolicy(compiled.statements)
  const decided = policy.decide(route.operation, keyId, request.region, metadata)
  return {
    ...withOp,
    decision: decided.allowed ? 'allow' : 'deny',
    reason: 'statement',
    sid: decided.sid,
    statements: compiled.statements.map(st => {
      const field = firstMismatch(st, route.operation as AuthorizedOperation, keyId, request.region, metadata)
      const verdict: StatementVerdict = { sid: st.sid, effect: st.effect, matched: field === undefined }
      if (field !== undefined) verdict.mismatch = { field: CONDITION_KEYS.includes(field as ConditionKey) ? `Condition/${field}` : field, requestValue: requestValue(field, route.operation, keyId, request.region, metadata) }
      return verdict
    }),
  }
}

function requestValue (field: string, operation: string, keyId: string, region: string | undefined, metadata: RequestMetadata): string | null {
  switch (field) {
    case 'Operation': return API_NAMES[operation as AuthorizedOperation]
    case 'KmsOperation': return metadata.kmsOperation
    case 'Key': return keyId
    case 'Principal': return metadata.awsPrincipalArn ?? null
    default: return conditionValue(field as ConditionKey, region, metadata) ?? null
  }
}
