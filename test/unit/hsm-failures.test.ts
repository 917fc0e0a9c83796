import t from 'tap'
import type { HsmFailureKind } from '../../src/hsm/types'
import { xksErrorFor } from '../../src/xks/hsm-failures'

// Every HSM failure kind maps to exactly one XKS error (docs/xks-spec.md §7.2): data and key errors are the caller's,
// the rest are retryable for KMS (429/500/503), and the internal cause rides along for logs only.
const expected: Record<HsmFailureKind, [string, number]> = {
  KeyNotFound: ['KeyNotFoundException', 404],
  KeyUsageDenied: ['InvalidKeyUsageException', 400],
  KeyTypeInvalid: ['InvalidKeyUsageException', 400],
  AuthenticationFailed: ['InvalidCiphertextException', 400],
  VerificationFailed: ['InternalException', 500],
  Unavailable: ['InternalException', 500],
  Timeout: ['DependencyTimeoutException', 503],
  Overloaded: ['ThrottlingException', 429],
  Internal: ['InternalException', 500],
}

for (const [kind, [errorName, status]] of Object.entries(expected)) {
  t.test(`${kind} → ${status} ${errorName}`, async t => {
    const error = xksErrorFor({ kind: kind as HsmFailureKind, ckr: 'CKR_DEVICE_ERROR', message: 'secret detail' })
    t.equal(error.errorName, errorName)
    t.equal(error.status, status)
    // An operation that never reached the HSM (Overloaded) has no PKCS#11 cause: its detail is the throttle reason.
    t.match(error.detail, kind === 'Overloaded' ? /^Overloaded$/ : /CKR_DEVICE_ERROR/, 'the PKCS#11 cause is kept for the log line')
    t.notMatch(error.toBody(), /CKR_|secret detail/, 'and never reaches the response body')
  })
}

t.test('the log line names the backend that failed, except for a throttle, whose detail is its reason', async t => {
  t.equal(xksErrorFor({ kind: 'Timeout', ckr: 'CKR_DEVICE_ERROR', message: 'x', backend: 'hsm-b' }).detail, 'CKR_DEVICE_ERROR (backend hsm-b)')
  t.equal(xksErrorFor({ kind: 'Overloaded', message: 'x', backend: 'hsm-b' }).detail, 'Overloaded')
})
