/**
 * GetKeyMetadata reports each key's own usage, from its CKA_ENCRYPT/CKA_DECRYPT attributes, in at most 10 entries
 * (docs/xks-spec.md §5.1).
 */
import t from 'tap'
import { assertSuccess, useDevServer } from '../helpers/conformance'
import { recordSecrets, testLogAfterStop } from '../helpers/log-secrets'
import { metadataFor } from '../helpers/xks-client'

const h = useDevServer(t)
const sent = recordSecrets(h)

t.test('GetKeyMetadata reports each key\'s own usage', async t => {
  const { keys } = h.conn
  const cases: Array<[string, string[]]> = [
    [keys.encryptDecrypt, ['ENCRYPT', 'DECRYPT']],
    [keys.encryptOnly, ['ENCRYPT']],
    [keys.decryptOnly, ['DECRYPT']],
    [keys.impotent, []],
  ]
  for (const [keyId, usage] of cases) {
    const res = await sent.send({ path: h.keyPath(keyId, 'metadata'), body: { requestMetadata: metadataFor('CreateKey') } })
    assertSuccess(t, res, ['keySpec', 'keyUsage', 'keyStatus'])
    const reported = res.json.keyUsage as string[]
    t.same(reported.filter(u => u === 'ENCRYPT' || u === 'DECRYPT'), usage, `${keyId}: ${usage.join('+') || 'neither ENCRYPT nor DECRYPT'}`)
    t.ok(reported.length <= 10, 'at most 10 usages')
  }
})

testLogAfterStop(t, h, sent, { plaintexts: 0 })
