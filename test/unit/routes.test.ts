import t from 'tap'
import { XksError } from '../../src/xks/errors'
import { MethodNotAllowedError, RouteTable, validateUriPrefix } from '../../src/xks/routes'

interface Store { uriPrefix: string, name: string }

const PREFIXED: Store = { uriPrefix: '/keystores/4a0d79d6-1d1b-49fd-9dbe-799cb9c0fb3f/kms/xks/v1', name: 'a' }
const BARE: Store = { uriPrefix: '/kms/xks/v1', name: 'b' }
const table = new RouteTable([PREFIXED, BARE])

function rejection (method: string, path: string, routes: RouteTable<Store> = table): XksError {
  try {
    routes.match(method, path)
  } catch (e) {
    if (e instanceof XksError) return e
    throw e
  }
  throw new Error(`${method} ${path} matched`)
}

t.test('matches the four APIs under each prefix', async t => {
  for (const store of [PREFIXED, BARE]) {
    const p = store.uriPrefix
    t.same(table.match('POST', `${p}/health`), { store, operation: 'health', keyId: undefined })
    for (const op of ['metadata', 'encrypt', 'decrypt'] as const) {
      t.same(table.match('POST', `${p}/keys/key-1_A.b/${op}`), { store, operation: op, keyId: 'key-1_A.b' })
    }
  }
  const id = 'k'.repeat(128)
  t.equal(table.match('POST', `/kms/xks/v1/keys/${id}/encrypt`).keyId, id)
})

t.test('unknown paths and prefixes are 404 InvalidUriPathException', async t => {
  const paths = [
    '', '/', 'health', '/health', '/kms/xks/v1', '/kms/xks/v1/', '/kms/xks/v1/health/', '/kms/xks/v1//health',
    '/kms/xks/v2/health', '/KMS/xks/v1/health', '/kms/xks/v1/Health', '/kms/xks/v1/keys/k/Encrypt',
    '/kms/xks/v1/keys/k/encrypt/', '/kms/xks/v1/keys/k/sign', '/kms/xks/v1/keys/encrypt', '/kms/xks/v1/key/k/encrypt',
    '/kms/xks/v1/keys/a/b/encrypt', '/kms/xks/v1/./health', '/kms/xks/v1/../v1/health', '/kms/xks/v1/%68ealth',
    '/other/kms/xks/v1/health', PREFIXED.uriPrefix + '/invalid/kms/xks/v1/health', '/invalid' + PREFIXED.uriPrefix + '/health',
    '//kms/xks/v1/health', '/kms/xks/v1/keys', '/kms/xks/v1/keys/', 'keys/k/encrypt', '/encrypt',
  ]
  for (const path of paths) {
    const err = rejection('POST', path)
    t.equal(err.errorName, 'InvalidUriPathException', path)
    t.equal(err.status, 404, path)
  }
  t.equal(rejection('GET', '/nope').errorName, 'InvalidUriPathException', 'unknown path beats the method check')
})

t.test('a URI longer than 256 characters is 404 InvalidUriPathException', async t => {
  const longPrefix: Store = { uriPrefix: '/' + 'p'.repeat(116) + '/kms/xks/v1', name: 'long' }
  t.equal(longPrefix.uriPrefix.length, 128)
  const routes = new RouteTable([longPrefix])
  const fits = `${longPrefix.uriPrefix}/keys/${'k'.repeat(256 - 128 - 6 - 8)}/encrypt`
  t.equal(fits.length, 256)
  t.equal(routes.match('POST', fits).operation, 'encrypt')
  const tooLong = `${longPrefix.uriPrefix}/keys/${'k'.repeat(256 - 128 - 6 - 7)}/encrypt`
  t.equal(rejection('POST', tooLong, routes).errorName, 'InvalidUriPathException')
})

t.test('non-POST on an API path is 405', async t => {
  for (const method of ['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'post']) {
    for (const path of ['/kms/xks/v1/health', `${PREFIXED.uriPrefix}/keys/k/decrypt`, '/kms/xks/v1/keys/bad!id/encrypt']) {
      const err = rejection(method, path)
      t.ok(err instanceof MethodNotAllowedError, `${method} ${path}`)
      t.equal(err.status, 405)
      t.equal((err as MethodNotAllowedError).allow, 'POST')
      t.same(JSON.parse(err.toBody()), { errorName: 'ValidationException', errorMessage: 'XKS API paths accept only the POST method.' })
    }
  }
})

t.test('a syntactically invalid key id in a correct path is 404 KeyNotFoundException', async t => {
  for (const id of ['', 'k'.repeat(129), 'bad!id', 'with%20space', 'a+b', 'caf\u00e9', 'a:b', 'a~b']) {
    const err = rejection('POST', `/kms/xks/v1/keys/${id}/metadata`)
    t.equal(err.errorName, 'KeyNotFoundException', JSON.stringify(id))
    t.equal(err.status, 404)
  }
})

t.test('validateUriPrefix follows the KMS pattern (docs/xks-spec.md §3.1)', async t => {
  for (const ok of ['/kms/xks/v1', '/kms/xks/v12', '/a/kms/xks/v1', PREFIXED.uriPrefix, '/a_b-C/1/kms/xks/v2', '/' + 'p'.repeat(116) + '/kms/xks/v1']) {
    t.equal(validateUriPrefix(ok), undefined, ok)
  }
  for (const bad of ['', '/kms/xks/v', '/kms/xks/v123', 'kms/xks/v1', '/kms/xks/v1/', '//kms/xks/v1', '/a.b/kms/xks/v1',
    '/a b/kms/xks/v1', '/kms/xks/V1', '/' + 'p'.repeat(117) + '/kms/xks/v1', '/x/kms/xks/v1/extra']) {
    t.type(validateUriPrefix(bad), 'string', JSON.stringify(bad))
  }
})

t.test('the constructor rejects invalid and duplicate prefixes', async t => {
  t.throws(() => new RouteTable([{ uriPrefix: '/bad' }]), /Invalid key store URI path/)
  t.throws(() => new RouteTable([BARE, { ...BARE }]), /Duplicate key store URI path/)
  t.doesNotThrow(() => new RouteTable([]))
})
