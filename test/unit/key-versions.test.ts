import t from 'tap'
import type { DecryptRequest, HsmBackend } from '../../src/hsm/types'
import { XksError } from '../../src/xks/errors'
import { buildKeyStores } from '../../src/xks/key-stores'
import { decrypt } from '../../src/xks/operations/decrypt'
import { Secret } from '../../src/config/secret'
import { validateConfig } from '../../src/config/load'
import { configFixture } from '../helpers/config-fixture'

const body = (cmHex: string): any => ({ ciphertext: Buffer.alloc(4), tag: Buffer.alloc(16), iv: Buffer.alloc(12), aad: Buffer.alloc(0), ciphertextMetadata: Buffer.from(cmHex, 'hex') })

function storeWith (key: Record<string, unknown>): ReturnType<typeof buildKeyStores>[number] {
  return buildKeyStores([{ name: 's', uriPrefix: '/s/kms/xks/v1', credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: new Secret('x'.repeat(43)) }], keys: { k: key as any } }], 300)[0]
}

t.test('Decrypt picks the label of the version the metadata records; a retired version is InvalidCiphertextException', async t => {
  const asked: string[] = []
  const hsm = { decrypt: async (req: DecryptRequest) => { asked.push(req.keyLabel); return { ok: true, value: { plaintext: Buffer.from('p') } } } } as unknown as HsmBackend
  const key = storeWith({ label: 'k.v3', version: 3, decryptOnlyVersions: [{ version: 2, label: 'k.v2' }] }).keys.get('k')!
  t.equal(key.label, 'k.v3')
  t.equal(key.version, 3)
  await decrypt(hsm, key, body('584702010003'), Date.now() + 1000)
  await decrypt(hsm, key, body('584702010002'), Date.now() + 1000)
  t.same(asked, ['k.v3', 'k.v2'])
  for (const cm of ['58470101', '', '584702010004']) {
    const err = await decrypt(hsm, key, body(cm), Date.now() + 1000).catch((e: unknown) => e) as XksError
    t.equal(err.errorName, 'InvalidCiphertextException', cm)
    t.match(err.message, /names version \d of this key, which this proxy does not have \(retired, or not yet configured\)/)
  }
  t.same(asked, ['k.v3', 'k.v2'], 'the HSM is never asked for a version the key does not have')
})

t.test('the configuration refuses versions that would make Decrypt ambiguous', async t => {
  const f = configFixture()
  t.teardown(f.cleanup)
  const problems = (key: Record<string, unknown>, health = 'health'): string[] => {
    try {
      validateConfig({ ...f.config, health: { keyLabel: health }, keyStores: [{ ...f.config.keyStores[0], keys: { foo: key } }] }, { baseDir: f.dir, env: f.env })
      return []
    } catch (err) {
      return (err as { problems: string[] }).problems
    }
  }
  t.same(problems({ label: 'b', version: 2, decryptOnlyVersions: [{ version: 1, label: 'a' }] }), [])
  t.same(problems({ label: 'b', version: 2, decryptOnlyVersions: [{ version: 2, label: 'a' }] }), ['/keyStores/0/keys/foo/decryptOnlyVersions/0: version 2 is listed twice for this key'])
  t.same(problems({ label: 'b', decryptOnlyVersions: [{ version: 2, label: 'b' }] }), ['/keyStores/0/keys/foo/decryptOnlyVersions/0: the label "b" is another version of this key too'])
  t.same(problems({ label: 'b', version: 2, decryptOnlyVersions: [{ version: 1, label: 'health' }] }), ['/health/keyLabel: "health" is also the customer key /keyStores/0/keys/foo/decryptOnlyVersions/0/label; the health check needs a key of its own'])
  t.match(problems({ label: 'b', version: 65536 }), [/^\/keyStores\/0\/keys\/foo\/version: Expected integer to be less or equal to 65535/])
})
