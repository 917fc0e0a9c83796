import t from 'tap'
import { assertXksError, encryptBody, randomB64, useDevServer } from '../helpers/conformance'

// One request in progress at a time: every request that arrives meanwhile must be shed at once with 429.
const h = useDevServer(t, { maxSockets: 64, server: { env: { XKSGATE__server__maxInFlight: '1' } } })

t.test('past maxInFlight, requests get 429 ThrottlingException and nothing else fails', async t => {
  const responses = await Promise.all(Array.from({ length: 64 }, async () =>
    await h.send({ path: h.keyPath('foo', 'encrypt'), body: encryptBody({ plaintext: randomB64(4096) }) })))
  const byStatus = new Map<number, number>()
  for (const res of responses) byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1)
  t.same([...byStatus.keys()].sort(), [200, 429], `only 200 and 429: ${JSON.stringify([...byStatus])}`)
  const throttled = responses.find(res => res.status === 429)
  if (throttled !== undefined) assertXksError(t, throttled, 429, 'ThrottlingException')
})

t.test('a shed request costs no authentication: an unsigned one is throttled too while the proxy is full', async t => {
  // Fill the single slot with real work and send unsigned requests meanwhile: one that arrives while a request is
  // in progress is shed (429) before SigV4, one that finds the slot free gets 401. Which it finds is timing (a
  // CI run once saw all 16 arrive between works), so rounds go on until one is shed, at most 20.
  const statuses: number[] = []
  for (let round = 0; round < 20 && !statuses.includes(429); round++) {
    const work = Array.from({ length: 48 }, async () =>
      await h.send({ path: h.keyPath('foo', 'encrypt'), body: encryptBody({ plaintext: randomB64(4096) }) }))
    const unsigned = Array.from({ length: 16 }, async () =>
      await h.send({ path: h.keyPath('foo', 'encrypt'), body: encryptBody({ plaintext: randomB64(16) }), unsigned: true }))
    const results = await Promise.all([...work, ...unsigned])
    statuses.push(...results.slice(48).map(res => res.status))
  }
  t.ok(statuses.every(s => s === 401 || s === 429), `401 or 429 only: ${[...new Set(statuses)].join(', ')} (${statuses.length} sent)`)
  t.ok(statuses.includes(429), 'some were shed before SigV4')
})
