/**
 * A key store's compiled policy and its decision (docs/xks-spec.md §10): an explicit Deny overrides any Allow;
 * otherwise an Allow that matches allows; otherwise the request is denied (implicit deny). A statement matches
 * when every field it has matches: within a field any of its values, an absent request field never (so a
 * condition on awsSourceVpce does not match a request that came without one, in an Allow or a Deny alike).
 */
import type { RequestMetadata } from '../xks/validate-metadata'
import type { CompiledStatement, PolicyDecision } from './compile'
import { IMPLICIT_DENY, type AuthorizedOperation, type ConditionKey } from './vocabulary'

export type { PolicyDecision } from './compile'

const IMPLICIT: PolicyDecision = Object.freeze({ allowed: false, sid: IMPLICIT_DENY })

/** The request field a condition key reads. */
export function conditionValue (key: ConditionKey, region: string | undefined, metadata: RequestMetadata): string | undefined {
  switch (key) {
    case 'ViaService': return metadata.kmsViaService
    case 'SourceVpc': return metadata.awsSourceVpc
    case 'SourceVpce': return metadata.awsSourceVpce
    case 'Region': return region
    case 'KeyArn': return metadata.kmsKeyArn
  }
}

/** The first field of `st` the request does not match (the name as in the statement), or undefined: it matches. */
export function firstMismatch (st: CompiledStatement, operation: AuthorizedOperation, keyId: string, region: string | undefined,
  metadata: RequestMetadata): string | undefined {
  if (st.operations !== undefined && !st.operations.has(operation)) return 'Operation'
  if (st.kmsOperations !== undefined && !st.kmsOperations.has(metadata.kmsOperation)) return 'KmsOperation'
  if (st.keys !== undefined && !st.keys(keyId)) return 'Key'
  if (st.principal !== undefined && !st.principal(metadata.awsPrincipalArn)) return 'Principal'
  for (const c of st.conditions) if (!c.match(conditionValue(c.key, region, metadata))) return c.key
  return undefined
}

export class CompiledPolicy {
  readonly #denies: readonly CompiledStatement[]
  readonly #allows: readonly CompiledStatement[]

  constructor (readonly statements: readonly CompiledStatement[]) {
    this.#denies = statements.filter(s => s.effect === 'Deny')
    this.#allows = statements.filter(s => s.effect === 'Allow')
  }

  /** The deciding statement: the first matching Deny, else the first matching Allow, else the implicit deny. */
  decide (operation: AuthorizedOperation, keyId: string, region: string | undefined, metadata: RequestMetadata): PolicyDecision {
    for (const st of this.#denies) if (firstMismatch(st, operation, keyId, region, metadata) === undefined) return st.decision
    for (const st of this.#allows) if (firstMismatch(st, operation, keyId, region, metadata) === undefined) return st.decision
    return IMPLICIT
  }
}
