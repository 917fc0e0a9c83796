/**
 * How an HSM failure becomes an XKS error (docs/xks-spec.md §7.2, §7.3). Only data errors are the caller's fault; the rest
 * are retryable for KMS (InternalException, DependencyTimeoutException).
 */
import type { HsmFailure } from '../hsm/types'
import { XksError } from './errors'

export function xksErrorFor (failure: HsmFailure): XksError {
  // The log line's cause: the PKCS#11 code (or the kind of failure) and the backend that answered it.
  const detail = (failure.ckr ?? failure.kind) + (failure.backend === undefined ? '' : ` (backend ${failure.backend})`)
  switch (failure.kind) {
    case 'KeyNotFound':
      return new XksError('KeyNotFoundException', undefined, detail)
    case 'KeyUsageDenied':
    case 'KeyTypeInvalid':
      return new XksError('InvalidKeyUsageException', undefined, detail)
    case 'AuthenticationFailed':
      return new XksError('InvalidCiphertextException', undefined, detail)
    case 'Timeout':
      return new XksError('DependencyTimeoutException', undefined, detail)
    case 'Overloaded':
      // Never reached the HSM: not a slow dependency but a proxy that cannot keep up (spec: ThrottlingException).
      // Its detail is the throttle reason of the metrics (src/metrics/throttle-reason.ts), without a backend.
      return new XksError('ThrottlingException', undefined, failure.kind)
    case 'VerificationFailed':
      return new XksError('InternalException', 'The verification decrypt after encryption failed.', detail)
    case 'Unavailable':
    case 'Internal':
      return new XksError('InternalException', undefined, `${detail}: ${failure.message}`)
  }
}
