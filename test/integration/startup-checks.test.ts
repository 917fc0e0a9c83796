/**
 * Startup checks through the production entry point on a real SoftHSM token: a missing or unfit key, a TLS key
 * that is not the certificate's, a port in use. Each stops the start with the field to fix, one fatal JSON line
 * and a short stderr message without a stack trace; exit 2 when the configuration is at fault, 1 otherwise.
 */
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import * as pkcs11js from 'pkcs11js'
import t from 'tap'
import { findSlot, initialize, loadModule } from '../../src/hsm/pkcs11/cryptoki'
import { createCa, ensureSelfSignedCert, issueClientCert } from '../../src/dev/tls-cert'
import { configFixture } from '../helpers/config-fixture'
import { MAIN, assertStartupFailure, runMain, tokenConfig } from '../helpers/main-process'
import { repoRoot } from '../helpers/paths'
import { createTestToken, type TestToken } from '../helpers/softhsm'

interface OddKey { label: string, bytes: number, extractable: boolean, sensitive: boolean }

/** Keys the provisioning helper would never make, generated here in the test process (no pool runs in it). */
const DAY_MS = 86_400_000

function addOddKeys (token: TestToken, keys: OddKey[]): void {
  const api = loadModule(token.modulePath)
  initialize(api)
  try {
    const session = api.C_OpenSession(findSlot(api, token.tokenLabel), pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION)
    api.C_Login(session, pkcs11js.CKU_USER, token.pin)
    for (const key of keys) {
      api.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: key.bytes },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: key.sensitive },
        { type: pkcs11js.CKA_EXTRACTABLE, value: key.extractable },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_LABEL, value: key.label },
      ])
    }
    api.C_CloseSession(session)
  } finally {
    api.C_Finalize()
  }
}

t.test('startup checks', async t => {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  addOddKeys(token, [
    { label: 'aes128', bytes: 16, extractable: false, sensitive: true },
    { label: 'extractable', bytes: 32, extractable: true, sensitive: true },
    { label: 'readable', bytes: 32, extractable: false, sensitive: false },
  ])
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-startup-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const { config, env, write } = tokenConfig(token, dir)
  const withKeys = (keys: Record<string, unknown>, health = 'health'): Record<string, any> =>
    ({ ...config, health: { keyLabel: health }, keyStores: [{ ...config.keyStores[0], keys }] })

  await t.test('fit keys start: some usage when none is configured, exactly the configured one otherwise', async t => {
    const file = write(withKeys({
      both: { label: 'foo' },
      encryptOnly: { label: 'enc-only', usage: ['ENCRYPT'] },
      neither: { label: 'impotent', usage: [] },
      retired: { label: 'dec-only', disabled: true },
    }))
    const result = await runMain(['--config', file], { env, until: out => out.includes('"msg":"ready"') })
    t.equal(result.status, 0, 'served, then stopped cleanly on SIGTERM', { stderr: result.stderr })
    t.equal(result.stderr, '')
  })

  await t.test('every missing or unfit key is named, and the proxy does not start', async t => {
    const file = write(withKeys({
      missing: { label: 'no-such-key' },
      short: { label: 'aes128' },
      extractable: { label: 'extractable' },
      readable: { label: 'readable' },
      impotent: { label: 'impotent' },
      notAsConfigured: { label: 'enc-only', usage: ['ENCRYPT', 'DECRYPT'] },
      moreThanConfigured: { label: 'foo', usage: ['ENCRYPT'] },
    }, 'dec-only'))
    const expected = [
      '/keyStores/0/keys/missing: no secret key labelled "no-such-key" on token "xksgate-test"',
      '/keyStores/0/keys/short: the key labelled "aes128" is AES-128, not AES-256',
      '/keyStores/0/keys/extractable: the key labelled "extractable" is extractable (CKA_EXTRACTABLE true): its material can leave the HSM',
      '/keyStores/0/keys/readable: the key labelled "readable" is not sensitive (CKA_SENSITIVE false): its value can be read out',
      '/keyStores/0/keys/impotent: the key labelled "impotent" allows neither ENCRYPT nor DECRYPT (set /keyStores/0/keys/impotent/usage to [] if that is meant)',
      '/keyStores/0/keys/notAsConfigured: the key labelled "enc-only" lacks DECRYPT (CKA_DECRYPT false), which /keyStores/0/keys/notAsConfigured/usage requires',
      '/keyStores/0/keys/moreThanConfigured: the key labelled "foo" allows DECRYPT, which /keyStores/0/keys/moreThanConfigured/usage does not list',
      '/health/keyLabel: the key labelled "dec-only" lacks ENCRYPT (CKA_ENCRYPT false), which the deep health check requires',
    ]
    const result = await runMain(['--config', file], { env })
    const fatal = assertStartupFailure(t, result, 2, expected.map(line => new RegExp(`^  ${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm')))
    t.same(fatal?.problems, expected, 'the JSON line lists the same problems')
    t.notMatch(result.stdout, /"msg":"xksgate listening"/, 'never listened')
  })

  await t.test('a serving process that fails its checks fails a cluster start with the same status', async t => {
    const file = write({ ...withKeys({ missing: { label: 'no-such-key' } }), cluster: { processes: 2 }, replay: { allowProcessLocal: true } }, 'cluster.json')
    const result = await runMain(['--config', file], { env })
    t.equal(result.status, 2, 'exit 2: the configuration is at fault')
    t.match(result.stderr, /^xksgate \(serving process 1\): invalid configuration:\n {2}\/keyStores\/0\/keys\/missing: no secret key/m)
    t.match(result.stderr, /^xksgate: serving process \d exited during startup \(code 2, signal null\): \/keyStores\/0\/keys\/missing: no secret key/m)
    t.notMatch(result.stderr, /^\s+at \S/m, 'no stack trace')
  })

  await t.test('a TLS key that does not belong to the certificate names /server/tls before uWS sees it', async t => {
    const other = ensureSelfSignedCert(path.join(dir, 'other-tls'))
    const file = write({ ...config, server: { ...config.server, tls: { ...config.server.tls, keyFile: other.keyFile } } })
    assertStartupFailure(t, await runMain(['--config', file], { env }), 2, [/^ {2}\/server\/tls: the private key in .*other-tls\/key\.pem does not belong to the certificate in .*tls\/cert\.pem$/m])
  })

  await t.test('certificate hygiene: a chain expiring within 30 days starts with a warning; an expired one refuses', async t => {
    const ca = createCa(path.join(dir, 'hygiene-ca'), 'hygiene CA')
    const chain = (name: string, notBefore: Date, notAfter: Date): { certFile: string, keyFile: string } => {
      const leaf = issueClientCert(ca, { dir: path.join(dir, 'hygiene'), name, commonName: 'localhost', notBefore, notAfter })
      fs.appendFileSync(leaf.certFile, fs.readFileSync(ca.certFile))
      return leaf
    }
    const now = Date.now()
    const soon = write({ ...withKeys({ both: { label: 'foo' } }), server: { ...config.server, tls: chain('soon', new Date(now - DAY_MS), new Date(now + 10 * DAY_MS)) } }, 'soon.json')
    const started = await runMain(['--config', soon], { env, until: out => out.includes('"msg":"ready"') })
    t.equal(started.status, 0, 'served, then stopped cleanly', { stderr: started.stderr })
    t.match(started.stdout, /"level":40,.*"hostnames":\["localhost"\].*"msg":"TLS certificate: the certificate chain expires in (9|10) days/, 'a warning at start')
    const expired = write({ ...config, server: { ...config.server, tls: chain('expired', new Date(now - 60 * DAY_MS), new Date(now - DAY_MS)) } }, 'expired.json')
    assertStartupFailure(t, await runMain(['--config', expired], { env }), 2, [/^ {2}\/server\/tls\/certFile: .*expired_cert\.pem: the certificate expired on /m])
  })

  await t.test('a port held by another program names the field, exit 1', async t => {
    const holder = net.createServer()
    await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
    t.teardown(() => holder.close())
    const port = (holder.address() as net.AddressInfo).port
    const tlsFile = write({ ...config, server: { ...config.server, port } })
    assertStartupFailure(t, await runMain(['--config', tlsFile], { env }), 1, [new RegExp(`^xksgate: /server/port: port ${port} on 127\\.0\\.0\\.1 is already in use by pid \\d+ .*which is not a member of this xksgate fleet`, 'm')])
    const metricsFile = write({ ...config, metrics: { host: '127.0.0.1', port } })
    assertStartupFailure(t, await runMain(['--config', metricsFile], { env }), 1, [new RegExp(`^xksgate: /metrics/port: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use$`, 'm')])
  })
})

t.test('a uWebSockets.js binary that cannot load stops the start before the HSM login, without a stack trace', async t => {
  // A copy of the build whose node_modules has every package but the uWS builds' binaries (both builds' package
  // directories hold only their package.json and main file), as on an unsupported platform.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-nouws-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  const build = path.dirname(path.dirname(MAIN))
  for (const dir of ['src', 'workers']) fs.cpSync(path.join(build, dir), path.join(root, 'dist', dir), { recursive: true })
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(root, 'package.json'))
  const modules = path.join(repoRoot, 'node_modules')
  for (const [scope, name, main] of [['@trufflesuite', 'uws-js-unofficial', 'src/uws.js'], ['@btc-vision', 'uwebsockets.js', 'uws.js']]) {
    const target = path.join(root, 'node_modules', scope, name)
    fs.mkdirSync(path.dirname(path.join(target, main)), { recursive: true })
    for (const file of ['package.json', main]) fs.copyFileSync(path.join(modules, scope, name, file), path.join(target, file))
  }
  for (const name of fs.readdirSync(modules).filter(n => n !== '@trufflesuite' && n !== '@btc-vision' && !n.startsWith('.'))) {
    fs.symlinkSync(path.join(modules, name), path.join(root, 'node_modules', name))
  }
  // The fixture's token exists on no HSM: reaching the HSM login would fail differently.
  const f = configFixture()
  t.teardown(f.cleanup)
  const file = path.join(f.dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify({ ...f.config, cluster: { processes: 1 }, metrics: { port: null } }))
  const result = await runMain(['--config', file], { env: f.env, main: path.join(root, 'dist', 'src', 'main.js') })
  assertStartupFailure(t, result, 1, [/^xksgate: the uWebSockets\.js native binary cannot be loaded on this platform \(.*uws_\w+_\w+_\d+\.node: no such file .*\)\. xksgate needs Node 20/m])
})
