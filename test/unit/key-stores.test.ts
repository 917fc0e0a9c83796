import { inspect } from 'node:util'
import t from 'tap'
import { Secret } from '../../src/config/secret'
import { buildKeyStores } from '../../src/xks/key-stores'

const SECRET = 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE'

// Regression (issue 8.6): KeyStore.config carried every credential's secret into the XKS core.
t.test('the key stores the XKS core gets hold no secret that a log call could print', async t => {
  const stores = buildKeyStores([{
    name: 'ks', uriPrefix: '/ks/kms/xks/v1', credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: new Secret(SECRET) }],
    keys: { foo: { label: 'foo' } },
  }], 300)
  t.notOk('config' in stores[0], 'no configuration object')
  for (const text of [JSON.stringify(stores), inspect(stores, { depth: Infinity, showHidden: true })]) {
    t.notOk(text.includes(SECRET), 'the secret is not printable')
    t.notOk(text.includes(Buffer.from('AWS4' + SECRET).toString('hex')), 'nor its key-derivation input')
  }
})
