import path from 'node:path'
import type { BenchConfig } from '../config'
import { start } from '../lib/procs'
import { waitForQuiet } from '../lib/procstat'
import { provisionToken, SOFTHSM_LIB } from '../lib/softhsm'

/** Scenario b: runs the raw pkcs11js loop in its own process on a private token. */
export async function rawHsm (cfg: BenchConfig, dir: string): Promise<number> {
  const token = provisionToken(path.join(dir, 'raw-hsm'))
  if (cfg.quietWaitMs > 0) await waitForQuiet(cfg.quietWaitMs)
  const child = start(process.execPath, [path.join(__dirname, '../baselines/raw-hsm.js'), SOFTHSM_LIB,
    token.label, token.pin, String(cfg.rawHsmMs)], path.join(dir, 'raw-hsm.log'), { env: { ...process.env, SOFTHSM2_CONF: token.conf } })
  try {
    await new Promise<void>((resolve, reject) => {
      child.child.once('exit', code => code === 0 ? resolve() : reject(new Error(`raw-hsm failed:\n${child.output()}`)))
      setTimeout(() => reject(new Error('raw-hsm: timed out')), cfg.rawHsmMs + 30_000).unref()
    })
  } finally {
    await child.stop()
  }
  const ops = JSON.parse(child.output().trim().split('\n').pop()!).opsPerSec as number
  console.log(`  b. raw HSM: ${ops.toFixed(0)} AES-GCM 4 KiB encrypts/s on one thread`)
  return ops
}
