/**
 * SigV4 freshness (docs/xks-spec.md §8.3): a signature more than 300 s off the proxy's clock is 401, and a
 * signature is accepted once, so a replayed request is 401 too.
 */
import t from 'tap'
import { assertXksError, encryptBody, healthBody, useDevServer } from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'

const h = useDevServer(t)
const sent = recordSecrets(h)

/**
 * X-Amz-Date has one-second resolution while the proxy compares it with its millisecond clock. Dates are therefore
 * offsets from the start of the current second S: the proxy sees skew = |now - (S + offset)| with now = S + e,
 * e = time since S until the proxy checks. Then +300 s is accepted and -301 s rejected whatever e is, while +301 s
 * is rejected and -299 s accepted only when e < 1 s. Starting each request early in a second (at most 500 ms in)
 * leaves the request half a second to arrive, so the outcome does not depend on the scheduling of two processes.
 */
async function startOfYoungSecond (): Promise<number> {
  const intoSecond = Date.now() % 1000
  if (intoSecond > 500) await new Promise(resolve => setTimeout(resolve, 1000 - intoSecond))
  return Math.floor(Date.now() / 1000) * 1000
}

t.test('clock skew: at most 300 s either way', async t => {
  const cases: Array<[number, boolean]> = [[300, true], [301, false], [-299, true], [-301, false]]
  for (const [offsetSeconds, accepted] of cases) {
    await t.test(`${offsetSeconds > 0 ? '+' : ''}${offsetSeconds} s: ${accepted ? 'accepted' : '401'}`, async t => {
      const signedAt = new Date(await startOfYoungSecond() + offsetSeconds * 1000)
      const res = await sent.send({ path: h.healthPath, body: healthBody(), signedAt })
      if (accepted) t.equal(res.status, 200, 'HTTP 200', { body: res.body })
      else assertXksError(t, res, 401, 'AuthenticationFailedException')
    })
  }
})

t.test('a replayed signed request is refused', async t => {
  const body = JSON.stringify(encryptBody({ plaintext: sent.plaintextOf(32) }))
  const signedAt = new Date()
  const path = h.keyPath(h.conn.keys.encryptDecrypt, 'encrypt')
  const first = await sent.send({ path, body, signedAt })
  const second = await sent.send({ path, body, signedAt })
  t.equal(first.sentHeaders.Authorization, second.sentHeaders.Authorization, 'identical Authorization header')
  t.equal(first.status, 200, 'first use accepted')
  assertXksError(t, second, 401, 'AuthenticationFailedException')
})

testLogAfterStop(t, h, sent, { plaintexts: 1 })
