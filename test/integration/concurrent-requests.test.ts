/**
 * 200 requests of every kind in flight at once over 100 keep-alive connections, each answered correctly: the
 * HSM pool, the batching and the replay cache under concurrency (docs/xks-spec.md §13).
 */
import t from 'tap'
import { decryptBody, encryptBody, healthBody, useDevServer } from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'
import { XksClient, type XksResponse, metadataFor } from '../helpers/xks-client'

const h = useDevServer(t)
const sent = recordSecrets(h)
const encryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'encrypt')
const decryptPath = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'decrypt')

t.test('200 concurrent requests over keep-alive connections are all answered correctly', async t => {
  const client = new XksClient(h.conn, 100)
  t.teardown(() => client.close())
  const send = async (options: Parameters<XksClient['send']>[0]): Promise<XksResponse> => sent.record(await client.send(options))
  const kinds = { encrypt: 0, decrypt: 0, metadata: 0, health: 0 }
  const count = (kind: keyof typeof kinds, ok: boolean): void => { if (ok) kinds[kind]++ }
  // 50 ciphertexts made beforehand, to be decrypted while everything else is in flight.
  const prepared = await Promise.all(Array.from({ length: 50 }, async () => {
    const plaintext = sent.plaintextOf(64)
    const res = await send({ path: encryptPath(), body: encryptBody({ plaintext }) })
    return { plaintext, encrypted: res.json }
  }))
  const failures: string[] = []
  const check = (what: string, res: XksResponse, ok: boolean): boolean => {
    if (!ok) failures.push(`${what}: ${res.status} ${res.body}`)
    return ok
  }
  await Promise.all([
    // 50 Encrypt → Decrypt chains (100 requests).
    ...Array.from({ length: 50 }, async (_, i) => {
      const plaintext = sent.plaintextOf(32 + i)
      const enc = await send({ path: encryptPath(), body: encryptBody({ plaintext }) })
      if (!check('encrypt', enc, enc.status === 200)) return
      count('encrypt', true)
      const dec = await send({ path: decryptPath(), body: decryptBody(enc.json) })
      count('decrypt', check('decrypt of a fresh ciphertext', dec, dec.status === 200 && dec.json.plaintext === plaintext))
    }),
    // 50 Decrypts of the prepared ciphertexts.
    ...prepared.map(async ({ plaintext, encrypted }) => {
      const dec = await send({ path: decryptPath(), body: decryptBody(encrypted) })
      count('decrypt', check('decrypt of a prepared ciphertext', dec, dec.status === 200 && dec.json.plaintext === plaintext))
    }),
    // 25 GetKeyMetadata and 25 GetHealthStatus.
    ...Array.from({ length: 25 }, async () => {
      const res = await send({ path: h.keyPath(h.conn.keys.encryptDecrypt, 'metadata'), body: { requestMetadata: metadataFor('CreateKey') } })
      count('metadata', check('metadata', res, res.status === 200 && res.json.keySpec === 'AES_256'))
    }),
    ...Array.from({ length: 25 }, async () => {
      const res = await send({ path: h.healthPath, body: healthBody() })
      count('health', check('health', res, res.status === 200 && Array.isArray(res.json.ekmFleetDetails)))
    }),
  ])
  t.same(failures, [], 'no request failed')
  t.same(kinds, { encrypt: 50, decrypt: 100, metadata: 25, health: 25 }, 'every request answered correctly')
})

testLogAfterStop(t, h, sent, { plaintexts: 100 })
