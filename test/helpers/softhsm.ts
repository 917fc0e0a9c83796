import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { provisionSoftHsm, provisionSoftHsmGroup } from '../../src/hsm/softhsm'

export interface TestToken {
  dir: string
  confPath: string
  modulePath: string
  tokenLabel: string
  pin: string
  soPin: string
  cleanup: () => void
}

export const TEST_KEYS = [
  { label: 'foo', encrypt: true, decrypt: true },
  { label: 'enc-only', encrypt: true, decrypt: false },
  { label: 'dec-only', encrypt: false, decrypt: true },
  { label: 'impotent', encrypt: false, decrypt: false },
  { label: 'health', encrypt: true, decrypt: true },
]

/** A fresh SoftHSM token in its own temp dir, with the test keys. Call cleanup() in t.teardown. */
export async function createTestToken (): Promise<TestToken> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-hsm-'))
  const tokenLabel = 'xksgate-test'
  const pin = '1234'
  const soPin = '5678'
  const { confPath, modulePath } = await provisionSoftHsm({ dir, tokenLabel, soPin, pin, keys: TEST_KEYS })
  return { dir, confPath, modulePath, tokenLabel, pin, soPin, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/**
 * A copy of `template` (made by createTestToken and never opened itself) in its own temp dir: as independent as a
 * fresh token, without starting the setup process, which took seconds on a loaded host. SoftHSM keeps a token as
 * files, and finds it through the copy's own SOFTHSM2_CONF (confPath). Call cleanup() in t.teardown.
 */
export function copyTestToken (template: TestToken): TestToken {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-hsm-'))
  const tokenDir = path.join(dir, 'tokens')
  fs.cpSync(path.join(template.dir, 'tokens'), tokenDir, { recursive: true })
  const confPath = path.join(dir, 'softhsm2.conf')
  fs.writeFileSync(confPath, fs.readFileSync(template.confPath, 'utf8').replace(path.join(template.dir, 'tokens'), tokenDir))
  return { ...template, dir, confPath, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

export interface TestTokenPair {
  dir: string
  modulePath: string
  tokenLabels: string[]
  pin: string
  cleanup: () => void
}

/** `count` tokens in one temp dir holding the same test keys (provisionSoftHsmGroup). Call cleanup() in t.teardown. */
export async function createTestTokens (count: number): Promise<TestTokenPair> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-hsms-'))
  const pin = '1234'
  const tokenLabels = Array.from({ length: count }, (_, i) => `xksgate-test-${i + 1}`)
  const { modulePath } = await provisionSoftHsmGroup({ dir, tokenLabels, soPin: '5678', pin, keys: TEST_KEYS })
  return { dir, modulePath, tokenLabels, pin, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}
