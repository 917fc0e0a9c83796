/**
 * An HSM (or a remote PKCS#11 transport in front of one) that refuses AES-GCM can never serve Encrypt or Decrypt:
 * the proxy refuses to start, naming the backend's module, instead of answering every request 500 for KMS to retry.
 * One that stops supporting it while serving fails its deep health check and leaves the routing.
 * The refusal is the shaped HSM's (docs/shaped-hsm.md), answered exactly as an HSM without the mechanism does.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { assertStartupFailure, logLines, runMain, tokenConfig } from '../helpers/main-process'
import { createShapedHsm } from '../helpers/shaped-hsm'
import { createTestToken } from '../helpers/softhsm'

t.test('AES-GCM refused by the HSM', async t => {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-gcm-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const shaped = createShapedHsm(path.join(dir, 'shaped'), { gcmUnsupported: true })
  t.teardown(() => shaped.control.close())
  const { config, env, write } = tokenConfig(token, dir)
  const backend = { ...config.hsm, modulePath: shaped.modulePath }

  await t.test('at start: the proxy refuses, naming the module and the refusal', async t => {
    const file = write({ ...config, hsm: backend })
    const result = await runMain(['--config', file], { env })
    const fatal = assertStartupFailure(t, result, 2, [new RegExp(`^ {2}/hsm/modulePath: the HSM behind ${shaped.modulePath} ` +
      '\\(backend "xksgate-test"\\) refuses AES-GCM \\(C_EncryptInit: CKR_MECHANISM_INVALID\\), which every Encrypt and Decrypt needs', 'm')])
    t.match(fatal?.problems, [/^\/hsm\/modulePath: /])
    t.notMatch(result.stdout, /"msg":"xksgate listening"/, 'never listened')
  })

  await t.test('one of two backends without it: the start names that one', async t => {
    const file = write({ ...config, hsm: [{ ...config.hsm, name: 'near' }, { ...backend, name: 'far' }] }, 'two.json')
    assertStartupFailure(t, await runMain(['--config', file], { env }), 2,
      [/^ {2}\/hsm\/1\/modulePath: the HSM behind .* \(backend "far"\) refuses AES-GCM/m])
  })

  await t.test('while serving: the deep health check takes the backend out of the routing', async t => {
    shaped.control.set({ gcmUnsupported: false })
    const file = write({ ...config, hsm: backend, health: { ...config.health, intervalMs: 1000 } }, 'serving.json')
    let refused = false
    const result = await runMain(['--config', file], {
      env,
      until: out => {
        if (!refused && out.includes('"msg":"ready"')) {
          refused = true
          shaped.control.set({ gcmUnsupported: true })
        }
        return out.includes('"msg":"HSM backend taken out of the routing"')
      },
    })
    t.equal(result.status, 0, 'started with AES-GCM, then stopped cleanly on SIGTERM', { stderr: result.stderr })
    const unavailable = logLines(result.stdout).find(line => line.event === 'ekm_health' && line.status === 'UNAVAILABLE')
    t.match(unavailable?.reason, /CKR_MECHANISM_INVALID/, 'the health check says why')
  })
})
