import crypto from 'node:crypto'
import path from 'node:path'
import type { Test } from 'tap'
import { Pkcs11Pool, type Pkcs11PoolOptions } from '../../src/hsm/pool'
import { createShapedHsm, type ShapedControl, type Shaping } from './shaped-hsm'
import { createTestToken } from './softhsm'

/**
 * The pool as a network HSM's proxy starts it by default (one thread, sessions as the concurrency asks, up to
 * 16), on a fresh SoftHSM token behind a shaped module of its own (docs/shaped-hsm.md). Everything is closed
 * and removed when `t` ends.
 */
export async function startShapedPool (t: Test, shaping: Shaping, options: Partial<Pkcs11PoolOptions> = {}): Promise<{ pool: Pkcs11Pool, control: ShapedControl }> {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  const { modulePath, control } = createShapedHsm(path.join(token.dir, 'shaped'), shaping)
  t.teardown(() => control.close())
  const pool = await Pkcs11Pool.start({
    modulePath, tokenLabel: token.tokenLabel, pin: token.pin, threads: 1, sessionsPerThread: 1, maxSessions: 16, ivSource: 'random', maxBatch: 32, ...options,
  })
  t.teardown(() => pool.close())
  return { pool, control }
}

const AAD = Buffer.from([0, 0, 0])
const PLAINTEXT = crypto.randomBytes(4096)

/** `clients` callers each encrypting 4 KiB under key "foo", one after another, for `ms`; how many were served. */
export async function keepEncrypting (pool: Pkcs11Pool, clients: number, ms: number): Promise<number> {
  const end = Date.now() + ms
  const client = async (): Promise<number> => {
    let served = 0
    while (Date.now() < end) {
      const outcome = await pool.encrypt({ deadline: Date.now() + 2000, keyLabel: 'foo', plaintext: PLAINTEXT, gcmAad: AAD })
      if (outcome.ok) served++
    }
    return served
  }
  return (await Promise.all(Array.from({ length: clients }, client))).reduce((a, b) => a + b, 0)
}
