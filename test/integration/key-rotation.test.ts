import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { SAMPLE, assertDecrypted, assertEncrypted, assertXksError, decryptBody, encryptBody, fromB64 } from '../helpers/conformance'
import { startDevServer, type DevServer } from '../helpers/dev-server'
import { runCli } from '../helpers/cli-run'
import { XksClient, metadataFor } from '../helpers/xks-client'

// The embedded default's key foo, rotated with `xksgate keys rotate` between two runs of the proxy on one directory.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-rotation-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const configFile = path.join(dir, 'config.json')

async function serve (t: Test): Promise<{ server: DevServer, client: XksClient, path: (op: string) => string }> {
  const server = await startDevServer({ dir })
  const client = new XksClient(server.connection)
  t.teardown(async () => { client.close(); await server.stop() })
  return { server, client, path: op => `${server.connection.uriPrefix}/keys/foo/${op}` }
}

const input = { plaintext: SAMPLE.plaintext, aad: SAMPLE.aad }
let underV1: Record<string, unknown>
let underV2: Record<string, unknown>

t.test('before rotation: Encrypt records key version 1 in the original format (58 47 01 01)', async t => {
  const p = await serve(t)
  const res = await p.client.send({ path: p.path('encrypt'), body: encryptBody(input) })
  assertEncrypted(t, res, input)
  t.equal(fromB64(res.json.ciphertextMetadata).toString('hex'), '58470101')
  underV1 = res.json
  await p.server.stop()
})

t.test('xksgate keys rotate foo makes version 2 on the token and in the configuration', async t => {
  process.env.SOFTHSM2_CONF = path.join(dir, 'softhsm', 'softhsm2.conf')
  const rotated = await runCli(['keys', 'rotate', 'foo', '--config', configFile])
  t.equal(rotated.status, 0, rotated.stderr)
  const foo = JSON.parse(fs.readFileSync(configFile, 'utf8')).keyStores[0].keys.foo
  t.same(foo, { label: 'foo.v2', usage: ['ENCRYPT', 'DECRYPT'], version: 2, decryptOnlyVersions: [{ version: 1, label: 'foo' }] })
})

t.test('after rotation: Encrypt uses version 2 (format 2), both versions decrypt, tampering is InvalidCiphertextException', async t => {
  const p = await serve(t)
  const meta = await p.client.send({ path: p.path('metadata'), body: { requestMetadata: metadataFor('DescribeKey') } })
  t.same(meta.json, { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' }, 'the same external key to KMS')
  const res = await p.client.send({ path: p.path('encrypt'), body: encryptBody(input) })
  assertEncrypted(t, res, input)
  t.equal(fromB64(res.json.ciphertextMetadata).toString('hex'), '584702010002')
  underV2 = res.json

  assertDecrypted(t, await p.client.send({ path: p.path('decrypt'), body: decryptBody(underV1, SAMPLE.aad) }), SAMPLE.plaintext)
  assertDecrypted(t, await p.client.send({ path: p.path('decrypt'), body: decryptBody(underV2, SAMPLE.aad) }), SAMPLE.plaintext)

  const withMetadata = (cm: string): Record<string, unknown> => ({ ...decryptBody(underV2, SAMPLE.aad), ciphertextMetadata: Buffer.from(cm, 'hex').toString('base64') })
  const tampered: Array<[string, string]> = [
    ['the version byte changed to a version that does not exist', '584702010003'],
    ['the version byte changed to version 1 in format 2', '584702010001'],
    ['format 1 (version 1) claimed for a version-2 ciphertext', '58470101'],
    ['the version changed in its high byte', '584702010102'],
  ]
  for (const [name, cm] of tampered) {
    assertXksError(t, await p.client.send({ path: p.path('decrypt'), body: withMetadata(cm) }), 400, 'InvalidCiphertextException')
    t.pass(name)
  }
  // A version-1 ciphertext relabelled as version 2: the key exists, the GCM tag check fails.
  const v1AsV2 = { ...decryptBody(underV1, SAMPLE.aad), ciphertextMetadata: Buffer.from('584702010002', 'hex').toString('base64') }
  assertXksError(t, await p.client.send({ path: p.path('decrypt'), body: v1AsV2 }), 400, 'InvalidCiphertextException')
})
