import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { copyTestToken, createTestToken, type TestToken } from '../helpers/softhsm'
import { runCli, tokenConfig, type TokenConfig } from '../helpers/cli-run'
import { repoRoot } from '../helpers/paths'

interface Fixture {
  c: TokenConfig
  keys: (...args: string[]) => ReturnType<typeof runCli>
  /** `keys describe ID --json`, parsed; a command that printed nothing fails with its exit status and stderr. */
  describeJson: (id: string) => Promise<any>
}

// The tests share nothing (each has its own token and file, see fixture()), and each spends most of its time starting
// Node processes one after the other (every HSM command forks its job's process): three at a time fill the cores a
// lone test leaves idle.
t.jobs = 3

let template: TestToken
t.before(async () => {
  template = await createTestToken()
  t.teardown(template.cleanup)
})

/**
 * A fresh token (a copy of one with the test keys of test/helpers/softhsm.ts) and configuration file (key foo,
 * health key health) for one test, removed after it: no test depends on the keys or edits of another, so one
 * failure stays one failure.
 */
function fixture (t: Test): Fixture {
  const token = copyTestToken(template)
  t.teardown(token.cleanup)
  const c = tokenConfig(token)
  c.env.SOFTHSM2_CONF = token.confPath
  t.teardown(c.cleanup)
  const keys = async (...args: string[]): ReturnType<typeof runCli> => await runCli(['keys', ...args, '--config', c.file], c.env)
  const describeJson = async (id: string): Promise<any> => {
    const described = await keys('describe', id, '--json')
    if (described.stdout === '') throw new Error(`keys describe ${id} printed nothing (exit ${described.status}): ${described.stderr}`)
    return JSON.parse(described.stdout)
  }
  return { c, keys, describeJson }
}

t.test('create generates an AES-256 key in the HSM with exactly the asked usages and adds it to the config', async t => {
  const { c, keys, describeJson } = fixture(t)
  const created = await keys('create', 'bar', '--json')
  t.equal(created.status, 0, created.stderr)
  t.match(JSON.parse(created.stdout), { keyId: 'bar', keyStore: 'a', label: 'bar', id: /^[0-9a-f]{32}$/, usage: ['ENCRYPT', 'DECRYPT'], unmodifiable: true, configWritten: true })
  t.same(c.read().keyStores[0].keys.bar, { label: 'bar', usage: ['ENCRYPT', 'DECRYPT'] })
  t.same(c.read().keyStores[0].keys.foo, { label: 'foo' }, 'the rest of the file is kept')
  t.equal(fs.statSync(c.file).mode & 0o777, 0o640, 'the file keeps its mode')
  const [version] = (await describeJson('bar')).versions
  t.match(version.key, {
    label: 'bar', keyType: 'AES', keyBits: 256, canEncrypt: true, canDecrypt: true, otherUsages: [],
    sensitive: true, extractable: false, modifiable: false, private: true, warnings: [], mappedTo: ['a/bar version 1'],
  })

  const encryptOnly = await keys('create', 'sealer', '--usage', 'encrypt', '--label', 'sealer-hsm')
  t.equal(encryptOnly.status, 0, encryptOnly.stderr)
  t.match(encryptOnly.stdout, /^created AES-256 key "sealer-hsm" \(CKA_ID [0-9a-f]{32}\) on token "xksgate-test", usage ENCRYPT, as external key sealer of key store a\n/)
  t.match((await describeJson('sealer')).versions[0].key, { label: 'sealer-hsm', canEncrypt: true, canDecrypt: false })
})

t.test('create --health makes the health-check key and points health.keyLabel at it', async t => {
  const { c, keys, describeJson } = fixture(t)
  const created = await keys('create', 'health-2', '--health')
  t.equal(created.status, 0, created.stderr)
  t.match(created.stdout, /^created the health-check key "health-2" \(CKA_ID [0-9a-f]{32}\) on token "xksgate-test"\n.*updated: \/health\/keyLabel\n$/)
  t.same(c.read().health, { keyLabel: 'health-2' })
  t.match((await describeJson('foo')).versions[0].key, { label: 'foo' })
  t.match((await keys('create', 'foo', '--health')).stderr, /\/keyStores\/0\/keys\/foo\/label: the label "foo" is already configured there/)
})

t.test('create refuses what would be ambiguous or invalid, naming the reason', async t => {
  const { c, keys } = fixture(t)
  const cases: Array<[string[], RegExp]> = [
    [['create', 'foo'], /^xksgate keys create: \/keyStores\/0\/keys\/foo: key store a has this key already\n$/],
    [['create', 'other', '--label', 'health'], /\/health\/keyLabel: the label "health" is already configured there; choose another with --label/],
    [['create', 'other', '--label', 'enc-only'], /the token "xksgate-test" already has a secret key labelled "enc-only"; choose another with --label/],
    [['create', 'bad/id'], /key id "bad\/id" must be 1-128 of A-Z a-z 0-9 \. _ -/],
    [['create', 'other', '--usage', 'sign'], /--usage must be encrypt, decrypt, both \(encrypt,decrypt\) or none, got "sign"/],
    [['create', 'other', '--key-store', 'zz'], /no key store named "zz" \(there are: a\)/],
    [['create'], /missing ID/],
  ]
  for (const [args, message] of cases) {
    const result = await keys(...args)
    t.equal(result.status, 2, args.join(' '))
    t.match(result.stderr, message, args.join(' '))
    t.equal(result.stdout, '', args.join(' '))
  }
  t.notOk('other' in c.read().keyStores[0].keys, 'nothing was added')
})

t.test('list shows every secret key, what maps to it, and warnings; a missing configured key exits 1', async t => {
  const { c, keys } = fixture(t)
  const listed = await keys('list', '--json')
  t.equal(listed.status, 0, listed.stderr)
  const byLabel = new Map((JSON.parse(listed.stdout).keys as any[]).map(k => [k.label, k]))
  t.same(byLabel.get('health').mappedTo, ['the health check key'])
  t.same(byLabel.get('foo').mappedTo, ['a/foo version 1 (encrypts)'])
  t.same(byLabel.get('dec-only').mappedTo, [])
  t.match(byLabel.get('impotent').warnings, [/allows neither ENCRYPT nor DECRYPT/])

  const text = await keys('list')
  t.match(text.stdout, /^token "xksgate-test": 5 secret key\(s\)\n/)
  t.match(text.stdout, /^"foo" {2}id [0-9a-f]{32} {2}AES-256 {2}usage ENCRYPT,DECRYPT {2}sensitive, not extractable {2}→ a\/foo version 1 \(encrypts\)$/m)

  const raw = c.read()
  raw.keyStores[0].keys.ghost = { label: 'ghost' }
  fs.writeFileSync(c.file, JSON.stringify(raw))
  const missing = await keys('list')
  t.equal(missing.status, 1)
  t.match(missing.stdout, /^missing: no secret key labelled "ghost" on the token, configured as a\/ghost version 1 \(encrypts\)$/m)
  const described = await keys('describe', 'ghost')
  t.equal(described.status, 1)
  t.match(described.stdout, /^version 1 \(encrypts\): MISSING: no secret key labelled "ghost" on the token$/m)
  delete raw.keyStores[0].keys.ghost
  fs.writeFileSync(c.file, JSON.stringify(raw, null, 2), { mode: 0o640 })
  t.match((await keys('describe', 'nope')).stderr, /no key "nope" in key store a \(there are: foo\)/)
})

t.test('disable and enable toggle the config flag and say when it applies', async t => {
  const { c, keys, describeJson } = fixture(t)
  const disabled = await keys('disable', 'foo')
  t.equal(disabled.status, 0, disabled.stderr)
  t.match(disabled.stdout, /a\/foo is DISABLED in .*; the running proxy applies it when it reloads its configuration or restarts/)
  t.equal(c.read().keyStores[0].keys.foo.disabled, true)
  t.match((await keys('disable', 'foo')).stdout, /a\/foo is DISABLED already; nothing changed/)
  t.equal((await describeJson('foo')).status, 'DISABLED')
  t.same(JSON.parse((await keys('enable', 'foo', '--json')).stdout), { keyId: 'foo', keyStore: 'a', status: 'ENABLED', changed: true, configWritten: true })
  t.notOk('disabled' in c.read().keyStores[0].keys.foo)
})

t.test('rotate adds a version behind the same id; --stage and --activate split it for a fleet', async t => {
  const { c, keys, describeJson } = fixture(t)
  const created = await keys('create', 'bar')
  t.equal(created.status, 0, `the key to rotate: ${created.stderr}`)
  const rotated = await keys('rotate', 'bar', '--json')
  t.equal(rotated.status, 0, rotated.stderr)
  t.match(JSON.parse(rotated.stdout), { keyId: 'bar', version: 2, label: 'bar.v2', id: /^[0-9a-f]{32}$/, encrypts: true })
  t.same(c.read().keyStores[0].keys.bar, { label: 'bar.v2', usage: ['ENCRYPT', 'DECRYPT'], version: 2, decryptOnlyVersions: [{ version: 1, label: 'bar' }] })
  t.match((await describeJson('bar')).versions[0].key, { label: 'bar.v2', keyBits: 256, canEncrypt: true, canDecrypt: true, extractable: false, modifiable: false })

  t.equal((await keys('rotate', 'bar', '--stage')).status, 0)
  t.same(c.read().keyStores[0].keys.bar.decryptOnlyVersions, [{ version: 1, label: 'bar' }, { version: 3, label: 'bar.v3' }], 'staged: decrypts only')
  t.equal(c.read().keyStores[0].keys.bar.version, 2, 'version 2 still encrypts')
  const activated = await keys('rotate', 'bar', '--activate')
  t.match(activated.stdout, /version 3 \("bar\.v3"\) encrypts; version 2 and the other earlier ones decrypt only/)
  t.same(c.read().keyStores[0].keys.bar, { label: 'bar.v3', usage: ['ENCRYPT', 'DECRYPT'], version: 3, decryptOnlyVersions: [{ version: 2, label: 'bar.v2' }, { version: 1, label: 'bar' }] })
  t.match((await keys('rotate', 'bar', '--activate')).stderr, /no staged version newer than version 3 to activate/)
  t.match((await keys('rotate', 'bar', '--activate', '--stage')).stderr, /--activate takes no --stage or --label/)

  // foo has no declared usage: the new version copies the HSM key's.
  t.equal((await keys('rotate', 'foo', '--label', 'foo-2025')).status, 0)
  t.match((await describeJson('foo')).versions[0].key, { label: 'foo-2025', canEncrypt: true, canDecrypt: true })
  t.match((await keys('rotate', 'bar', '--label', 'foo')).stderr, /\/keyStores\/0\/keys\/foo\/decryptOnlyVersions\/0\/label: the label "foo" is already configured there/)

  const raw = c.read()
  raw.keyStores[0].keys.opener = { label: 'dec-only', usage: ['DECRYPT'] }
  fs.writeFileSync(c.file, JSON.stringify(raw, null, 2), { mode: 0o640 })
  t.match((await keys('rotate', 'opener')).stderr, /\/keyStores\/0\/keys\/opener: the key cannot encrypt, so a new version would never be used/)
})

t.test('a wrong PIN or token is a configuration error naming the field', async t => {
  const { c, keys } = fixture(t)
  const badPin = await runCli(['keys', 'list', '--config', c.file], { ...c.env, TEST_PIN: '000000' })
  t.equal(badPin.status, 2)
  t.equal(badPin.stderr, 'xksgate keys list: /hsm/pin: C_Login: CKR_PIN_INCORRECT\n')
  const raw = c.read()
  fs.writeFileSync(c.file, JSON.stringify({ ...raw, hsm: { ...raw.hsm, tokenLabel: 'nope' } }))
  const badToken = await keys('create', 'x')
  t.equal(badToken.status, 2)
  t.match(badToken.stderr, /^xksgate keys create: \/hsm\/tokenLabel: token label "nope" not found/)
  fs.writeFileSync(c.file, JSON.stringify(raw, null, 2), { mode: 0o640 })
  const { SOFTHSM2_CONF: _, ...withoutConf } = c.env
  const unset = spawnSync(process.execPath, [path.join(repoRoot, 'dist/src/main.js'), 'keys', 'list', '--config', c.file], { env: withoutConf, encoding: 'utf8' })
  t.equal(unset.status, 2)
  t.match(unset.stderr, /^xksgate keys list: \/hsm\/tokenLabel: token label "xksgate-test" not found .*; SoftHSM finds its tokens through SOFTHSM2_CONF, which is not set \(set it in \/hsm\/environment\)\n$/)
})

t.test('a configuration file that cannot be written gets the change printed instead', async t => {
  const { c } = fixture(t)
  // A process that may not write the directory: another user when the tests run as root, else a read-only directory.
  const asRoot = process.getuid?.() === 0
  for (const entry of fs.readdirSync(c.dir, { recursive: true }) as string[]) fs.chmodSync(path.join(c.dir, entry), fs.statSync(path.join(c.dir, entry)).isDirectory() ? 0o755 : 0o644)
  fs.chmodSync(c.dir, asRoot ? 0o755 : 0o555)
  const before = fs.readFileSync(c.file, 'utf8')
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'dist/src/main.js'), 'keys', 'disable', 'foo', '--config', c.file], {
    env: c.env, encoding: 'utf8', ...(asRoot && { uid: 65534, gid: 65534 }),
  })
  fs.chmodSync(c.dir, 0o700)
  t.equal(result.status, 0, result.stderr)
  t.match(result.stdout, /is not writable \(EACCES\): make this change yourself, at \/keyStores\/0\/keys\/foo:\n\{\n {2}"label": "foo",[\s\S]*"disabled": true\n\}\n/)
  t.equal(fs.readFileSync(c.file, 'utf8'), before, 'the file is unchanged')
})

t.test('--help and usage errors', async t => {
  t.match((await runCli(['keys', '--help'])).stdout, /^usage: xksgate keys SUBCOMMAND[\s\S]*rotate {5}a new key version/)
  t.match((await runCli(['keys', 'rotate', '--help'])).stdout, /^usage: xksgate keys rotate ID/)
  t.same(await runCli(['keys', 'burn']), { status: 2, stdout: '', stderr: "xksgate keys: unknown subcommand 'burn' (see xksgate keys --help)\n" })
  t.match((await runCli(['keys', 'list'], {})).stderr, /no configuration: give --config FILE or set XKSGATE_CONFIG/)
})
