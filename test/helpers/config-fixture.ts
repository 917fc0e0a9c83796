/**
 * A minimal valid configuration in a fresh temp directory: a real self-signed certificate and key, a secret file,
 * and the PIN by environment reference (TEST_PIN, set by `env` below). Tests mutate `config` before validating it.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ensureSelfSignedCert } from '../../src/dev/tls-cert'

export const FIXTURE_SECRET = 'FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE'
export const FIXTURE_PIN = '48151623'

export interface ConfigFixture {
  dir: string
  config: Record<string, any>
  env: NodeJS.ProcessEnv
  cleanup: () => void
}

export function configFixture (): ConfigFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-config-'))
  const { certFile, keyFile } = ensureSelfSignedCert(path.join(dir, 'tls'))
  fs.writeFileSync(path.join(dir, 'secret'), FIXTURE_SECRET + '\n')
  return {
    dir,
    config: {
      server: { tls: { certFile: path.relative(dir, certFile), keyFile: path.relative(dir, keyFile) } },
      hsm: { tokenLabel: 'tok', pin: { env: 'TEST_PIN' } },
      health: { keyLabel: 'health' },
      keyStores: [{
        name: 'a',
        uriPrefix: '/a/kms/xks/v1',
        credentials: [{ accessKeyId: 'AKIAI2SFODNN7EXAMPLE', secretAccessKey: { file: 'secret' } }],
        keys: { foo: { label: 'foo' } },
      }],
    },
    env: { TEST_PIN: FIXTURE_PIN },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  }
}
