import path from 'node:path'
import type { Test } from 'tap'
import { Pkcs11Pool } from '../../src/hsm/pool'
import { createShapedHsm, type ShapedControl, type Shaping } from './shaped-hsm'
import { createTestToken } from './softhsm'

/**
 * The pool as a network HSM's proxy starts it by default (one thread, sessions as the concurrency asks, up to
 * 16), on a fresh SoftHSM token behind a shaped module of its own (docs/shaped-hsm.md). Everything is closed
 * and removed when `t` ends.
 */
export async function startShapedPool (t: Test, shaping: Shaping): Promise<{ pool: Pkcs11Pool, control: ShapedControl }> {
  const token = await createTestToken()
  t.teardown(token.cleanup)
  const { modulePath, control } = createShapedHsm(path.join(token.dir, 'shaped'), shaping)
  t.teardown(() => control.close())
  const pool = await Pkcs11Pool.start({
    modulePath, tokenLabel: token.tokenLabel, pin: token.pin, threads: 1, sessionsPerThread: 1, maxSessions: 16, ivSource: 'random', maxBatch: 32,
  })
  t.teardown(() => pool.close())
  return { pool, control }
}
