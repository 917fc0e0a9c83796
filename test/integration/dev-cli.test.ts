import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { startDevServer } from '../helpers/dev-server'
import { repoRoot } from '../helpers/paths'
import { until } from '../helpers/until'
import { XksClient, metadataFor } from '../helpers/xks-client'

t.test('without softhsm2 the embedded default says how to install it', async t => {
  // As on a machine without the package: no SoftHSM library where it is looked for.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-nohsm-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const missing = path.join(dir, 'no-such-dir', 'libsofthsm2.so')
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'dist/src/dev/cli.js'), '--dir', dir, '--port', '0', '--softhsm-module', missing], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.equal(result.status, 1)
  t.match(result.stderr, `softhsm2 is not installed. Install it with: sudo apt-get install -y softhsm2 (no SoftHSM library at ${missing})`)
  t.notOk(fs.existsSync(path.join(dir, 'connection.json')))
})

t.test('first use provisions the directory; a second run reuses it', async t => {
  const first = await startDevServer()
  t.teardown(() => fs.rmSync(first.dir, { recursive: true, force: true }))
  t.equal(await first.stop(), 0, 'SIGTERM exits 0')
  t.notOk(fs.existsSync(path.join(first.dir, 'connection.json')), 'connection.json removed on stop')

  const kms = JSON.parse(fs.readFileSync(path.join(first.dir, 'kms-proxy-config.json'), 'utf8'))
  t.same(Object.keys(kms).sort(), ['XksProxyAuthenticationCredential', 'XksProxyUriPath'])
  t.equal(kms.XksProxyUriPath, first.connection.uriPrefix)
  t.same(kms.XksProxyAuthenticationCredential, {
    AccessKeyId: first.connection.accessKeyId,
    RawSecretAccessKey: first.connection.secretAccessKey,
  })
  t.match(first.connection.accessKeyId, /^[A-Z2-7]{20,30}$/, 'access key id follows the KMS rule')
  t.match(first.connection.secretAccessKey, /^[A-Za-z0-9/+=]{43,64}$/, 'secret follows the KMS rule')
  for (const secret of fs.readdirSync(path.join(first.dir, 'secrets'))) {
    t.equal(fs.statSync(path.join(first.dir, 'secrets', secret)).mode & 0o777, 0o600, `${secret} is private`)
  }

  const second = await startDevServer({ dir: first.dir })
  t.equal(second.connection.accessKeyId, first.connection.accessKeyId, 'same credentials')
  t.equal(second.connection.secretAccessKey, first.connection.secretAccessKey)
  const { pid, configFile } = second.connection as unknown as { pid: number, configFile: string }
  t.equal(pid, second.process.pid, 'connection.json names the process taking SIGHUP and SIGTERM')
  t.equal(configFile, path.join(first.dir, 'config.json'), 'and its config file')

  // One serving process reloads in place (in-place-reload.test.ts has the details); an invalid file is refused.
  process.kill(pid, 'SIGHUP')
  await until('the reload', () => second.output().includes('"msg":"reload done: the serving process applied the new configuration in place"'), 30_000)
  fs.writeFileSync(configFile, '{}')
  process.kill(pid, 'SIGHUP')
  await until('the refusal', () => second.output().includes('"msg":"reload refused: invalid configuration, or one that takes a restart; serving on the configuration it has"'), 30_000)
  const client = new XksClient(second.connection, 1)
  t.equal((await client.send({ path: `${second.connection.uriPrefix}/health`, body: { requestMetadata: metadataFor('KmsHealthCheck') } })).status, 200, 'still serving')
  client.close()
  t.equal(await second.stop(), 0)
})

t.test('an HSM that cannot be used at startup stops the proxy with the cause, and nothing is served', async t => {
  // Provision once, then start with a broken HSM setting given as an environment override.
  const first = await startDevServer()
  t.teardown(() => fs.rmSync(first.dir, { recursive: true, force: true }))
  t.equal(await first.stop(), 0)
  // Each names the field to fix; exit 2: the configuration is at fault, restarting cannot help.
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['missing PKCS#11 module', { XKSGATE__hsm__modulePath: '/nonexistent/libpkcs11.so' }, /^ {2}\/hsm\/modulePath: PKCS#11 module \/nonexistent\/libpkcs11\.so could not be loaded/m],
    ['wrong PIN', { XKSGATE__hsm__pin: '"000000"' }, /^ {2}\/hsm\/pin: C_Login: CKR_PIN_INCORRECT$/m],
    ['unknown token', { XKSGATE__hsm__tokenLabel: 'no-such-token' }, /^ {2}\/hsm\/tokenLabel: token label "no-such-token" not found/m],
  ]
  for (const [name, env, cause] of cases) {
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'dist/src/dev/cli.js'), '--dir', first.dir, '--port', '0'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    })
    t.equal(result.status, 2, `${name}: exits 2`)
    t.match(result.stderr, cause, `${name}: names the field and says why`)
    t.notMatch(result.stderr, /^\s+at \S/m, `${name}: no stack trace`)
    t.match(result.stdout, /"level":60,.*"msg":"startup failed: invalid configuration"/, `${name}: one fatal JSON line`)
    t.notOk(fs.existsSync(path.join(first.dir, 'connection.json')), `${name}: never claims to be ready`)
  }
})
