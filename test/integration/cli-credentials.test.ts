import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { configFixture, FIXTURE_SECRET } from '../helpers/config-fixture'
import { runCli } from '../helpers/cli-run'

function fixtureFile (t: Test): { file: string, dir: string, env: NodeJS.ProcessEnv, read: () => any } {
  const f = configFixture()
  t.teardown(f.cleanup)
  const file = path.join(f.dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(f.config, null, 2))
  return { file, dir: f.dir, env: f.env, read: () => JSON.parse(fs.readFileSync(file, 'utf8')) }
}

t.test('credentials create: a KMS-valid credential beside the first, its secret only in a 0600 file', async t => {
  const f = fixtureFile(t)
  const created = await runCli(['credentials', 'create', '--key-store', 'a', '--config', f.file], f.env)
  t.equal(created.status, 0, created.stderr)
  const credentials = f.read().keyStores[0].credentials
  t.equal(credentials.length, 2)
  t.equal(credentials[0].accessKeyId, 'AKIAI2SFODNN7EXAMPLE', 'the first one stays')
  const { accessKeyId, secretAccessKey } = credentials[1]
  t.match(accessKeyId, /^[A-Z2-7]{20}$/)
  t.same(secretAccessKey, { file: `secrets/a-${accessKeyId}` })
  const secretFile = path.join(f.dir, secretAccessKey.file)
  t.equal(fs.statSync(secretFile).mode & 0o777, 0o600)
  const secret = fs.readFileSync(secretFile, 'utf8').trim()
  t.match(secret, /^[A-Za-z0-9/+=]{43,64}$/)
  t.equal(Buffer.from(secret, 'base64').length, 32, '256 bits')
  t.notMatch(created.stdout + created.stderr, secret, 'the secret is never printed')
  t.match(created.stdout, new RegExp(`access key id ${accessKeyId}, secret in ${secretFile} \\(mode 0600\\)`))
  t.match(created.stdout, /1\. reload the proxy[\s\S]*2\. give KMS the new one: xksgate kms-config[\s\S]*--update[\s\S]*3\. once the request logs show only/)

  const json = JSON.parse((await runCli(['credentials', 'create', '--config', f.file, '--json', '--secret-file', path.join(f.dir, 'third')], f.env)).stdout)
  t.match(json, { keyStore: 'a', accessKeyId: /^[A-Z2-7]{20}$/, secretFile: path.join(f.dir, 'third'), configWritten: true })
  t.not(json.accessKeyId, accessKeyId)
  t.same(f.read().keyStores[0].credentials[2].secretAccessKey, { file: 'third' })
  const again = await runCli(['credentials', 'create', '--config', f.file, '--secret-file', path.join(f.dir, 'third')], f.env)
  t.same(again, { status: 2, stdout: '', stderr: `xksgate credentials create: ${path.join(f.dir, 'third')} exists already; a secret file is never overwritten (give another --secret-file)\n` })
  t.equal(f.read().keyStores[0].credentials.length, 3)

  for (let i = 3; i < 8; i++) t.equal((await runCli(['credentials', 'create', '--config', f.file], f.env)).status, 0)
  const full = await runCli(['credentials', 'create', '--config', f.file], f.env)
  t.equal(full.status, 2)
  t.match(full.stderr, /\/keyStores\/0\/credentials: key store a has 8 credentials, the most it can have; remove one it no longer uses first/)
})

t.test('credentials create makes a key store\'s first credential, which a configuration cannot do without', async t => {
  const f = fixtureFile(t)
  const raw = f.read()
  raw.keyStores[0].credentials = []
  fs.writeFileSync(f.file, JSON.stringify(raw))
  t.equal((await runCli(['config', 'check', '--config', f.file], f.env)).status, 2, 'invalid without a credential')
  const created = await runCli(['credentials', 'create', '--config', f.file], f.env)
  t.equal(created.status, 0, created.stderr)
  t.match(created.stdout, /key store a has 1 credential\(s\)\nNext steps:\n {2}1\. start the proxy; 2\. xksgate kms-config --config .* --key-store a --endpoint https:\/\/YOUR-PROXY-HOST writes/)
  t.equal((await runCli(['config', 'check', '--config', f.file], f.env)).status, 0, 'valid now')
  raw.keyStores[0].name = 'a/b'
  fs.writeFileSync(f.file, JSON.stringify(raw))
  t.match((await runCli(['credentials', 'create', '--config', f.file], f.env)).stderr, /\/keyStores\/0\/name: must be 1-64 of A-Z a-z 0-9 _ \. -/)
})

const ENDPOINT = 'https://xks.example.com'

t.test('kms-config writes the console file and the create-custom-key-store input (0600), printing no secret', async t => {
  const f = fixtureFile(t)
  const out = await runCli(['kms-config', '--config', f.file, '--endpoint', ENDPOINT], f.env)
  t.equal(out.status, 0, out.stderr)
  const consoleFile = path.join(f.dir, 'kms-proxy-config-a.json')
  const inputFile = path.join(f.dir, 'kms-custom-key-store-a.json')
  const credential = { AccessKeyId: 'AKIAI2SFODNN7EXAMPLE', RawSecretAccessKey: FIXTURE_SECRET }
  t.same(JSON.parse(fs.readFileSync(consoleFile, 'utf8')), { XksProxyUriPath: '/a/kms/xks/v1', XksProxyAuthenticationCredential: credential })
  t.same(JSON.parse(fs.readFileSync(inputFile, 'utf8')), {
    CustomKeyStoreName: 'a', CustomKeyStoreType: 'EXTERNAL_KEY_STORE', XksProxyUriEndpoint: ENDPOINT, XksProxyUriPath: '/a/kms/xks/v1',
    XksProxyConnectivity: 'PUBLIC_ENDPOINT', XksProxyAuthenticationCredential: credential,
  })
  for (const file of [consoleFile, inputFile]) t.equal(fs.statSync(file).mode & 0o777, 0o600)
  t.notMatch(out.stdout, FIXTURE_SECRET)
  t.match(out.stdout, `CLI:     aws kms create-custom-key-store --cli-input-json file://${inputFile}\n`)
  t.match(out.stdout, /XksProxyUriEndpoint +https:\/\/xks\.example\.com\n {2}XksProxyUriPath +\/a\/kms\/xks\/v1\n {2}XksProxyConnectivity +PUBLIC_ENDPOINT\n/)

  const vpc = 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0'
  const update = await runCli(['kms-config', '--config', f.file, '--endpoint', ENDPOINT, '--vpc-endpoint-service', vpc, '--update', '--custom-key-store-id', 'cks-1234567890abcdef0', '--json', '--out-dir', path.join(f.dir, 'tls')], f.env)
  t.equal(update.status, 0, update.stderr)
  const result = JSON.parse(update.stdout)
  t.equal(result.command, `aws kms update-custom-key-store --cli-input-json file://${path.join(f.dir, 'tls', 'kms-custom-key-store-a.json')}`)
  t.same(JSON.parse(fs.readFileSync(result.files.cliInput, 'utf8')), {
    CustomKeyStoreId: 'cks-1234567890abcdef0', XksProxyUriEndpoint: ENDPOINT, XksProxyUriPath: '/a/kms/xks/v1',
    XksProxyConnectivity: 'VPC_ENDPOINT_SERVICE', XksProxyVpcEndpointServiceName: vpc, XksProxyAuthenticationCredential: credential,
  })
  t.notMatch(update.stdout, FIXTURE_SECRET)
})

t.test('kms-config refuses what KMS would refuse', async t => {
  const f = fixtureFile(t)
  const cases: Array<[string[], RegExp]> = [
    [[], /give --endpoint https:\/\/YOUR-PROXY-HOST/],
    [['--endpoint', 'https://xks.example.com:8443'], /--endpoint must be https:\/\/ and a DNS name, without port or path/],
    [['--endpoint', 'http://xks.example.com'], /--endpoint must be https:\/\//],
    [['--endpoint', 'https://10.0.0.1'], /fully qualified domain name, not "10\.0\.0\.1"/],
    [['--endpoint', 'https://localhost'], /fully qualified domain name/],
    [['--endpoint', ENDPOINT, '--vpc-endpoint-service', 'my-service'], /--vpc-endpoint-service must look like com\.amazonaws\.vpce\.REGION\.vpce-svc-ID/],
    [['--endpoint', ENDPOINT, '--update'], /--update needs --custom-key-store-id/],
    [['--endpoint', ENDPOINT, '--access-key-id', 'NOPE'], /key store a has no credential NOPE \(it has AKIAI2SFODNN7EXAMPLE\)/],
    [['--endpoint', ENDPOINT, '--key-store', 'b'], /no key store named "b"/],
  ]
  for (const [args, message] of cases) {
    const result = await runCli(['kms-config', '--config', f.file, ...args], f.env)
    t.equal(result.status, 2, args.join(' '))
    t.match(result.stderr, message, args.join(' '))
  }
  t.notOk(fs.existsSync(path.join(f.dir, 'kms-proxy-config-a.json')), 'nothing written')
  const nowhere = path.join(f.dir, 'secret', 'sub')
  t.same(await runCli(['kms-config', '--config', f.file, '--endpoint', ENDPOINT, '--out-dir', nowhere], f.env),
    { status: 2, stdout: '', stderr: `xksgate kms-config: cannot write ${path.join(nowhere, 'kms-proxy-config-a.json')} (ENOTDIR); give --out-dir a directory you can write\n` })
  t.same(await runCli(['credentials', 'create', '--config', f.file, '--secret-file', path.join(nowhere, 'x')], f.env),
    { status: 2, stdout: '', stderr: `xksgate credentials create: cannot write ${path.join(nowhere, 'x')} (ENOTDIR); give --secret-file a path you can write\n` })
  t.match((await runCli(['kms-config', '--help'])).stdout, /^usage: xksgate kms-config --endpoint URL/)
})
