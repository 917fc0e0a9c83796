import t from 'tap'
import { MemoryReplayGuard } from '../../src/replay/memory-replay-guard'

const SIG = 'a'.repeat(64)

function clock (start = 1_700_000_000_000): { now: () => number, advance: (ms: number) => void } {
  let time = start
  return { now: () => time, advance: ms => { time += ms } }
}

t.test('fresh, then replay', async t => {
  const guard = new MemoryReplayGuard({ maxEntries: 10 })
  t.equal(await guard.checkAndRecord('store', SIG, Date.now() + 300_000), 'fresh')
  t.equal(await guard.checkAndRecord('store', SIG, Date.now() + 300_000), 'replay')
  t.same(guard.status(), { backend: 'memory', degraded: false })
})

t.test('a signature is forgotten once it expires, not before', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 10, now: c.now })
  t.equal(await guard.checkAndRecord('s', SIG, c.now() + 5000), 'fresh')
  c.advance(4999)
  t.equal(await guard.checkAndRecord('s', SIG, c.now() + 5000), 'replay')
  c.advance(2)
  t.equal(await guard.checkAndRecord('s', SIG, c.now() + 5000), 'fresh', 'expired, so usable again')
  c.advance(3600_000)
  await guard.checkAndRecord('s', 'other', c.now() + 5000)
  t.equal(guard.stats().size, 1, 'expired entries are swept')
})

t.test('an expiry already past still records for the minimum TTL', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 10, now: c.now })
  t.equal(await guard.checkAndRecord('s', SIG, c.now() - 1), 'fresh')
  c.advance(999)
  t.equal(await guard.checkAndRecord('s', SIG, c.now()), 'replay')
})

t.test('bounded: never exceeds max, evicts the soonest-expiring first', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 100, now: c.now })
  // Insertion order differs from expiry order: the later inserts expire sooner.
  for (let i = 0; i < 100; i++) await guard.checkAndRecord('s', `late-${i}`, c.now() + 600_000 - i * 1000)
  for (let i = 0; i < 50; i++) {
    t.equal(await guard.checkAndRecord('s', `new-${i}`, c.now() + 700_000), 'fresh')
    t.ok(guard.stats().size <= 100)
  }
  t.same(guard.stats(), { size: 100, evictions: 50 })
  // The 50 soonest-expiring of the first batch are late-50..late-99.
  t.equal(await guard.checkAndRecord('s', 'late-0', c.now() + 600_000), 'replay', 'longest-lived survives')
  t.equal(await guard.checkAndRecord('s', 'late-49', c.now() + 600_000), 'replay')
  t.equal(await guard.checkAndRecord('s', 'new-0', c.now() + 700_000), 'replay')
  t.equal(guard.stats().evictions, 50, 'checking survivors evicts nothing')
  t.equal(await guard.checkAndRecord('s', 'late-50', c.now() + 600_000), 'fresh', 'soonest-expiring was evicted')
})

t.test('a full cache of expired entries is reused without counting evictions', async t => {
  const c = clock()
  const guard = new MemoryReplayGuard({ maxEntries: 1000, now: c.now })
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 1000; i++) await guard.checkAndRecord('s', `${round}-${i}`, c.now() + 1000)
    c.advance(2000)
  }
  t.same(guard.stats(), { size: 1000, evictions: 0 })
})

t.test('namespaced per key store', async t => {
  const guard = new MemoryReplayGuard({ maxEntries: 10 })
  const expires = Date.now() + 300_000
  t.equal(await guard.checkAndRecord('store-a', SIG, expires), 'fresh')
  t.equal(await guard.checkAndRecord('store-b', SIG, expires), 'fresh')
  t.equal(await guard.checkAndRecord('store-a', SIG, expires), 'replay')
})

t.test('rejects a non-positive bound', async t => {
  t.throws(() => new MemoryReplayGuard({ maxEntries: 0 }), RangeError)
})
