/**
 * The refusals that get a line each (src/xks/refusal-sample.ts): the first ten of each second of arrival, and the
 * kmsRequestId the body claims, taken only when it is a short token. (test/unit/pipeline.test.ts checks the lines.)
 */
import t from 'tap'
import { claimedKmsRequestId, RefusalSample, REFUSALS_LOGGED_PER_SECOND } from '../../src/xks/refusal-sample'

t.test('the first REFUSALS_LOGGED_PER_SECOND of each second of arrival', async t => {
  const sample = new RefusalSample()
  const taken = (at: number, n: number): number => Array.from({ length: n }, () => sample.take(at)).filter(Boolean).length
  t.equal(taken(5_000, 25), REFUSALS_LOGGED_PER_SECOND)
  t.equal(taken(5_999, 5), 0, 'the same second')
  t.equal(taken(4_999, 5), 0, 'a request of an earlier second that finished late counts against this one')
  t.equal(taken(6_000, 25), REFUSALS_LOGGED_PER_SECOND, 'a new second')
})

t.test('the claimed kmsRequestId: a short token from the body, found without parsing it', async t => {
  const id = crypto.randomUUID()
  const body = (text: string): Buffer => Buffer.from(text)
  t.equal(claimedKmsRequestId(body(JSON.stringify({ requestMetadata: { kmsOperation: 'Encrypt', kmsRequestId: id } }))), id)
  t.equal(claimedKmsRequestId(body(`{\n    "requestMetadata": {\n        "kmsRequestId" :\t"${id}"\n    }\n}`)), id, 'pretty-printed, as the test client sends')
  t.equal(claimedKmsRequestId(body('{"plaintext":"AAAA"}')), undefined, 'none')
  t.equal(claimedKmsRequestId(body('{"kmsRequestId":""}')), undefined, 'empty')
  t.equal(claimedKmsRequestId(body(`{"kmsRequestId":"${'a'.repeat(129)}"}`)), undefined, 'longer than 128')
  t.equal(claimedKmsRequestId(body(`{"kmsRequestId":"${'a'.repeat(128)}"}`)), 'a'.repeat(128))
  t.equal(claimedKmsRequestId(body('{"kmsRequestId":"a b\\n<script>"}')), undefined, 'characters no KMS id has')
  t.equal(claimedKmsRequestId(body('{"kmsRequestId":7}')), undefined, 'not a string')
  t.equal(claimedKmsRequestId(body('{"kmsRequestId":"abc')), undefined, 'unterminated')
  t.equal(claimedKmsRequestId(body('{"kmsRequestId"')), undefined, 'truncated')
})
