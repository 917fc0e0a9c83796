/**
 * The pure parts of the reliability suite (bench/reliability) that its verdicts rest on: fuzz cases rebuilt
 * from (seed, n) byte for byte, the spec-shape judge of an answer, and the per-request tally with its recovery
 * time. The suites themselves run against a real proxy (test/integration/reliability-*.test.ts).
 */
import t from 'tap'
import { failed, okPercentile, recoveryMs, Tally } from '../../bench/reliability/counts'
import { buildCase, type FuzzTarget } from '../../bench/reliability/fuzz/cases'
import { shapeProblem } from '../../bench/reliability/fuzz/check'
import { newHistogram } from '../../bench/loadgen/recorder'
import { buildTemplates, fakeCiphertexts } from '../../bench/loadgen/templates'
import { Signer } from '../../bench/sign'

const templates = buildTemplates('/a/kms/xks/v1', 'foo', fakeCiphertexts(2))
const target = (): FuzzTarget => ({
  hostHeader: '127.0.0.1:1',
  signer: new Signer({ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE', region: 'us-east-1' }),
  templates,
  now: () => Date.UTC(2026, 11, 1, 12, 0, 0),
})

t.test('a fuzz case is rebuilt byte for byte from its seed and number', async t => {
  const a = target()
  const b = target()
  const kinds = new Set<string>()
  for (let n = 0; n < 500; n++) {
    const x = buildCase(a, 42, n)
    const y = buildCase(b, 42, n)
    kinds.add(x.kind)
    if (!x.bytes.equals(y.bytes) || x.what !== y.what) t.fail(`case ${n} differs: ${x.what} / ${y.what}`)
  }
  t.same([...kinds].sort(), ['base64', 'framing', 'headers', 'json', 'sigv4'], 'every kind of mutation drawn')
  const differs = Array.from({ length: 50 }, (_, n) => !buildCase(a, 42, n).bytes.equals(buildCase(a, 43, n).bytes))
  t.ok(differs.filter(Boolean).length > 45, 'another seed gives other cases')
})

const answer = (status: number, body: string, contentType = 'application/json'): Parameters<typeof shapeProblem>[0] =>
  ({ status, headers: { 'content-type': contentType, 'content-length': String(body.length) }, body })

t.test('the judge accepts spec-shaped answers and names what is wrong with the others', async t => {
  t.equal(shapeProblem(answer(200, '{"ciphertext":"AA=="}')), undefined)
  t.equal(shapeProblem(answer(400, '{"errorName":"ValidationException","errorMessage":"bad"}')), undefined)
  t.equal(shapeProblem(answer(405, '{"errorName":"ValidationException"}')), undefined, '405 for a non-POST method')
  t.equal(shapeProblem(answer(501, '{"errorName":"UnsupportedOperationException"}')), undefined)
  t.match(shapeProblem(answer(500, '{"errorName":"InternalException"}')), /unexpected 500/)
  t.match(shapeProblem(answer(503, '{"errorName":"DependencyTimeoutException"}')), /unexpected 503/)
  t.match(shapeProblem(answer(400, '{"errorName":"ValidationException"}', 'text/plain')), /Content-Type/)
  t.match(shapeProblem(answer(400, 'oops')), /not JSON/)
  t.match(shapeProblem(answer(400, '[1]')), /not a JSON object/)
  t.match(shapeProblem(answer(400, '{ "errorName": "ValidationException" }')), /compact/)
  t.match(shapeProblem(answer(400, '{"errorName":"NoSuchException"}')), /errorName/)
  t.match(shapeProblem(answer(401, '{"errorName":"ValidationException"}')), /status 401/)
  t.match(shapeProblem(answer(400, '{"errorName":"ValidationException","stack":"x"}')), /has stack/)
  t.match(shapeProblem(answer(400, `{"errorName":"ValidationException","errorMessage":"${'x'.repeat(600)}"}`)), /errorMessage/)
})

t.test('every request lands in one class; recovery runs from the fault to the last failure after it', async t => {
  const tally = new Tally(newHistogram())
  tally.record(200, 100, 1)
  tally.record(503, 1000, 1)
  tally.record(429, 1100, 1)
  tally.record(500, 1200, 1)
  tally.record(401, 1500, 1)
  tally.record(0, 1600, 0)
  tally.unanswered(2400)
  tally.record(200, 2500, 7)
  const c = tally.counts(8)
  t.same([c.ok, c.retryable, c.other, c.unanswered], [2, 3, 1, 2])
  t.equal(failed(c), 6)
  t.equal(recoveryMs(c, 900), 1500)
  t.equal(recoveryMs(c, 3000), 0, 'nothing failed after a fault at 3 s')
  t.equal(okPercentile(c, 99, 0, 2000), 1, 'ok latency before 2 s')
  t.equal(okPercentile(c, 99, 2000), 7, 'ok latency after 2 s')
  t.equal(okPercentile(c, 99, 3000), 0, 'no ok answer after 3 s')
})
