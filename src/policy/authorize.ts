/**
 * The pipeline's authorization hook (src/xks/pipeline.ts `Authorize`), answered by each key store's compiled
 * policy. A key store without a policy allows every authenticated request, as the spec's default proxy does
 * (docs/xks-spec.md §10: secondary authorization is optional); GetHealthStatus never reaches the hook.
 */
import { XksError } from '../xks/errors'
import type { KeyStore } from '../xks/key-stores'
import type { RequestMetadata } from '../xks/validate-metadata'
import type { PolicyDecision } from './policy'
import { IMPLICIT_DENY, type AuthorizedOperation } from './vocabulary'

/** The deciding statement, or undefined when the key store has no policy. */
export function authorizeByPolicy (store: KeyStore, operation: AuthorizedOperation, keyId: string, region: string | undefined,
  metadata: RequestMetadata): PolicyDecision | undefined {
  return store.policy?.decide(operation, keyId, region, metadata)
}

/**
 * 403 AccessDeniedException naming the deciding statement, so the customer can fix their policy from KMS's log of
 * the error message (docs/xks-spec.md §7.1, §10); the statement's contents stay on the proxy.
 */
export function accessDenied (decision: PolicyDecision): XksError {
  const which = decision.sid === IMPLICIT_DENY ? 'no statement of the proxy policy allows this request' : `denied by statement ${decision.sid} of the proxy policy`
  return new XksError('AccessDeniedException', `Access denied: ${which}.`, `policy ${decision.sid}`)
}
