import crypto from 'node:crypto'
import t from 'tap'
import { MemoryReplayGuard } from '../../src/replay/memory-replay-guard'
import type { LocalReplayStats } from '../../src/replay/types'
import { XksError } from '../../src/xks/errors'

const sig = (): string => crypto.randomBytes(32).toString('hex')
const STORE = { name: 'store', index: 0 }

function clock (start = 1_700_000_000_000): { now: () => number, advance: (ms: number) => void } {
  let time = start
  return { now: () => time, advance: ms => { time += ms } }
}

t.test('fresh, then replay once served', async t => {
  const guard = new MemoryReplayGuard({ maxEntries: 10 })
  const s = sig()
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'fresh')
  t.equal(guard.settle(STORE, s, true), true, 'the first attempt settles its own claim')
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'replay')
  t.equal(guard.settle(STORE, s, false), false, 'a settled signature cannot be settled again')
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'replay', 'and stays used')
  t.same(guard.status(), { backend: 'memory', degraded: false })
})

t.test('a duplicate while the first attempt is in flight is refused without settling it', async t => {
  const guard = new MemoryReplayGuard({ maxEntries: 10 })
  const s = sig()
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'fresh')
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'in-flight')
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'in-flight', 'as often as it comes')
  guard.settle(STORE, s, true)
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'replay')
})

t.test('not served: presented once more, then used for good', async t => {
  const guard = new MemoryReplayGuard({ maxEntries: 10 })
  const s = sig()
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'fresh')
  t.equal(guard.settle(STORE, s, false), true)
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'retry')
  t.equal(guard.settle(STORE, s, false), false, 'the re-presentation has nothing to settle, whatever its answer')
  t.equal(guard.checkAndRecord(STORE, s, Date.now() + 300_000), 'replay', 'a third presentation is a replay')
})

t.test('states keep their expiry: a pending or re-presentable signature is forgotten when it expires', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 10, now: c.now })
  const pending = sig()
  const again = sig()
  t.equal(guard.checkAndRecord(STORE, pending, c.now() + 5000), 'fresh')
  t.equal(guard.checkAndRecord(STORE, again, c.now() + 5000), 'fresh')
  guard.settle(STORE, again, false)
  c.advance(4999)
  t.equal(guard.checkAndRecord(STORE, pending, c.now() + 5000), 'in-flight')
  t.equal(guard.stateOf(STORE, again), 2, 're-presentable until it expires')
  c.advance(1001)
  t.equal(guard.stateOf(STORE, again), undefined)
  t.equal(guard.checkAndRecord(STORE, pending, c.now() + 5000), 'fresh', 'expired, so usable again')
})

t.test('a signature is forgotten once it expires, not before', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 10, now: c.now })
  const s = sig()
  t.equal(guard.checkAndRecord(STORE, s, c.now() + 5000), 'fresh')
  guard.settle(STORE, s, true)
  c.advance(4999)
  t.equal(guard.checkAndRecord(STORE, s, c.now() + 5000), 'replay')
  c.advance(1001)
  t.equal(guard.checkAndRecord(STORE, s, c.now() + 5000), 'fresh', 'expired, so usable again')
})

t.test('an expiry already past still records for at least a second', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 10, now: c.now })
  const s = sig()
  t.equal(guard.checkAndRecord(STORE, s, c.now() - 1), 'fresh')
  guard.settle(STORE, s, true)
  c.advance(999)
  t.equal(guard.checkAndRecord(STORE, s, c.now()), 'replay')
})

// Regression (issue 8.2): with maxEntries 1,000, after 1,800 signatures 800 still-valid ones were accepted again.
t.test('full: no live signature is ever forgotten; new ones are refused with a retryable 429', async t => {
  const c = clock()
  const reports: LocalReplayStats[] = []
  const guard = new MemoryReplayGuard({ maxEntries: 1000, now: c.now, onFull: s => reports.push(s) })
  const accepted: string[] = []
  let refused = 0
  for (let i = 0; i < 1800; i++) {
    const s = sig()
    try {
      t.equal(guard.checkAndRecord(STORE, s, c.now() + 600_000), 'fresh')
      accepted.push(s)
    } catch (err) {
      t.ok(err instanceof XksError && err.errorName === 'ThrottlingException' && err.status === 429)
      refused++
    }
  }
  t.ok(accepted.length >= 1000, `at least the capacity was accepted (${accepted.length})`)
  t.equal(accepted.length + refused, 1800)
  t.ok(refused > 0, 'the rest was refused')
  t.equal(guard.localStats().refusals, refused)
  t.equal(reports.length, 1, 'one warning for the whole burst (at most one a minute)')
  for (const s of accepted) guard.settle(STORE, s, true)
  const replayed = accepted.filter(s => guard.checkAndRecord(STORE, s, c.now() + 600_000) !== 'replay')
  t.equal(replayed.length, 0, 'every accepted signature is still caught as a replay')
  c.advance(601_000)
  t.equal(guard.checkAndRecord(STORE, sig(), c.now() + 600_000), 'fresh', 'room again once the old ones expired')
})

t.test('expired entries make room, and the live count follows them', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 1000, now: c.now })
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 1000; i++) t.equal(guard.checkAndRecord(STORE, sig(), c.now() + 1000), 'fresh')
    c.advance(2000)
  }
  t.equal(guard.localStats().refusals, 0)
  t.ok(guard.localStats().size <= 1000, `live count ${guard.localStats().size} never above what is live`)
})

t.test('namespaced per key store', async t => {
  const guard = new MemoryReplayGuard({ maxEntries: 10 })
  const expires = Date.now() + 300_000
  const s = sig()
  t.equal(guard.checkAndRecord({ name: 'a', index: 0 }, s, expires), 'fresh')
  t.equal(guard.checkAndRecord({ name: 'b', index: 1 }, s, expires), 'fresh')
  guard.settle({ name: 'a', index: 0 }, s, true)
  t.equal(guard.checkAndRecord({ name: 'a', index: 0 }, s, expires), 'replay')
  t.equal(guard.checkAndRecord({ name: 'b', index: 1 }, s, expires), 'in-flight', 'settling one key store leaves the other')
})

t.test('memory is allocated once, 20 bytes a slot', async t => {
  const stats = new MemoryReplayGuard({ maxEntries: 1_081_800 }).localStats()
  t.equal(stats.capacity, 1_081_800)
  t.ok(stats.bytes < 1_081_800 * 20 / 0.8 + 1000, `${(stats.bytes / 2 ** 20).toFixed(1)} MiB for KMS's quota over the skew window`)
})

t.test('rejects a non-positive bound', async t => {
  t.throws(() => new MemoryReplayGuard({ maxEntries: 0 }), RangeError)
})
