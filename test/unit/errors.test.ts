import t from 'tap'
import { XKS_ERRORS, XksError, type XksErrorName, sanitizeErrorMessage } from '../../src/xks/errors'

/** The spec's error table (docs/xks-spec.md §7.2). */
const SPEC_TABLE: Record<string, number> = {
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
  InternalException: 500,
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

t.test('the table holds exactly the 12 spec errors with their statuses', async t => {
  t.equal(Object.keys(XKS_ERRORS).length, 12)
  t.same(Object.keys(XKS_ERRORS).sort(), Object.keys(SPEC_TABLE).sort())
  for (const [name, status] of Object.entries(SPEC_TABLE)) {
    t.equal(XKS_ERRORS[name as XksErrorName].status, status, name)
  }
})

t.test('default messages are printable ASCII shorter than 512 characters', async t => {
  for (const [name, { message }] of Object.entries(XKS_ERRORS)) {
    t.match(message, PRINTABLE_ASCII, name)
    t.ok(message.length > 0 && message.length < 512, name)
  }
})

t.test('XksError carries name, status, default message and log-only detail', async t => {
  const err = new XksError('KeyNotFoundException', undefined, 'CKR_OBJECT_HANDLE_INVALID')
  t.ok(err instanceof Error)
  t.equal(err.errorName, 'KeyNotFoundException')
  t.equal(err.status, 404)
  t.equal(err.message, XKS_ERRORS.KeyNotFoundException.message)
  t.equal(err.detail, 'CKR_OBJECT_HANDLE_INVALID')
  t.notMatch(err.toBody(), /CKR_/)
})

t.test('toBody() is compact single-line JSON', async t => {
  const body = new XksError('InvalidCiphertextException').toBody()
  t.equal(body, '{"errorName":"InvalidCiphertextException","errorMessage":"' + XKS_ERRORS.InvalidCiphertextException.message + '"}')
  t.notMatch(body, /[\r\n]/)
  t.notMatch(body, /": /)
  t.same(JSON.parse(body), { errorName: 'InvalidCiphertextException', errorMessage: XKS_ERRORS.InvalidCiphertextException.message })
})

t.test('sanitizeErrorMessage replaces non-printable characters and truncates', async t => {
  t.equal(sanitizeErrorMessage('ok message'), 'ok message')
  t.equal(sanitizeErrorMessage('a\nb\tc\u00e9d\u0000'), 'a?b?c?d?')
  const long = sanitizeErrorMessage('x'.repeat(2000))
  t.equal(long.length, 511)
  t.ok(long.endsWith('...'))
  t.equal(sanitizeErrorMessage('y'.repeat(511)), 'y'.repeat(511))
  const err = new XksError('ValidationException', 'bad\r\nfield' + 'z'.repeat(600))
  t.match(err.message, PRINTABLE_ASCII)
  t.ok(err.message.length < 512)
})
