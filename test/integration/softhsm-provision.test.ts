import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { Pkcs11Pool } from '../../src/hsm/pool'
import { provisionSoftHsm } from '../../src/hsm/softhsm'
import { TEST_KEYS } from '../helpers/softhsm'

const POOL = { threads: 1, sessionsPerThread: 1, ivSource: 'random' as const, maxBatch: 32 }

// Every way node:child_process starts a program; each call's program and arguments are recorded, then the real
// function runs. What a child gets as arguments is what `ps` shows to every user of the machine.
const STARTERS = ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']

t.test('SoftHSM provisioning keeps both PINs off every command line, and the token takes them', async t => {
  const childProcess = require('node:child_process') as Record<string, (...args: unknown[]) => unknown>
  const commandLines: string[] = []
  for (const name of STARTERS) {
    const real = childProcess[name]
    childProcess[name] = (...args: unknown[]) => {
      commandLines.push(JSON.stringify(args.slice(0, 2)))
      return real.apply(childProcess, args)
    }
    t.teardown(() => { childProcess[name] = real })
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-provision-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const soPin = 'so-pin-8d41c0e2'
  const pin = 'user-pin-5be3a9f7'
  const tokenLabel = 'xksgate-provision'
  const options = { dir, tokenLabel, soPin, pin, keys: TEST_KEYS }

  const first = await provisionSoftHsm(options)
  t.ok(first.createdToken, 'the token was created')
  t.same(first.createdKeys, TEST_KEYS.map(k => k.label), 'every key was created')
  t.ok(commandLines.length > 0, 'provisioning started a child process (and the recorder saw it)')
  for (const line of commandLines) {
    t.notMatch(line, soPin, `no SO PIN in ${line}`)
    t.notMatch(line, pin, `no user PIN in ${line}`)
  }

  const again = await provisionSoftHsm(options)
  t.same({ createdToken: again.createdToken, createdKeys: again.createdKeys }, { createdToken: false, createdKeys: [] }, 'a second run creates nothing')

  // Before any login in this process: once logged in, C_Login no longer checks the PIN.
  await t.rejects(Pkcs11Pool.start({ ...POOL, modulePath: first.modulePath, tokenLabel, pin: 'not-the-pin' }), /CKR_PIN_INCORRECT/)
  const pool = await Pkcs11Pool.start({ ...POOL, modulePath: first.modulePath, tokenLabel, pin })
  t.teardown(() => pool.close())
  for (const key of TEST_KEYS) {
    t.match(await pool.describeKey(key.label, Date.now() + 10_000), { ok: true, value: { keyType: 'AES', keyBits: 256, canEncrypt: key.encrypt, canDecrypt: key.decrypt } }, `${key.label} is usable`)
  }
})
