/**
 * The concurrency limit (src/hsm/concurrency-limit.ts) against simulated HSMs on a fake clock: a CPU-bound one
 * (SoftHSM-like), network ones 1 ms and 5 ms away, one that queues internally past its capacity, one that answers
 * busy. Pure logic; the real pool on a shaped module is test/integration/hsm-network-faults.test.ts.
 */
import t from 'tap'
import { ConcurrencyLimit, WINDOW_MS, WORTH_CONCURRENCY_MS } from '../../src/hsm/concurrency-limit'

interface Hsm {
  /** Time of one operation in the HSM (ms), given how many it has at once and the time (ms) it starts at. */
  serviceMs: (inFlight: number, now: number) => number
}

interface Load {
  /** Open loop: operations per second. */
  rate?: number
  /** Closed loop: clients, each sending its next operation when the last is answered. */
  clients?: number
}

interface Run {
  limit: ConcurrencyLimit
  /** Most operations in the HSM at once, over the run. */
  peak: number
  /** Operations answered per second over the last second. */
  throughput: number
  limits: number[]
}

const STEP_MS = 0.01

/** Drives the limit as the pool does: arrivals, dispatch while under the limit, samples as operations finish. */
function simulate (hsm: Hsm, load: Load, seconds: number, max = 64): Run {
  let now = 0
  const limit = new ConcurrencyLimit(max, () => now)
  let waiting = load.clients ?? 0
  let owed = 0
  let peak = 0
  const finishing: Array<{ at: number, started: number }> = []
  const limits: number[] = []
  let doneLastSecond = 0
  const end = seconds * 1000
  for (let step = 0; now < end; step++) {
    now = step * STEP_MS
    if (load.rate !== undefined) {
      owed += load.rate * STEP_MS / 1000
      for (; owed >= 1; owed--) { waiting++; limit.arrived() }
    }
    for (let i = finishing.length - 1; i >= 0; i--) {
      const op = finishing[i]
      if (op.at > now) continue
      finishing.splice(i, 1)
      limit.sample(op.at - op.started)
      if (now >= end - 1000) doneLastSecond++
      if (load.clients !== undefined) { waiting++; limit.arrived() }
    }
    const cap = limit.concurrent ? limit.limit : 1
    while (waiting > 0 && finishing.length < cap) {
      waiting--
      finishing.push({ started: now, at: now + hsm.serviceMs(finishing.length + 1, now) })
    }
    peak = Math.max(peak, finishing.length)
    limit.inUse(finishing.length, waiting > 0)
    if (step % (100 / STEP_MS) === 0) limits.push(limit.limit)
  }
  return { limit, peak, throughput: doneLastSecond, limits }
}

/**
 * Drives `limit` on the fake clock `clock` through `windows` windows, in each of which `perWindow` operations of
 * `ms` finish while work waits at the limit; the limit after each window.
 */
function busyWindows (limit: ConcurrencyLimit, clock: { now: number }, windows: number, perWindow: number, ms: number): number[] {
  const limits: number[] = []
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < perWindow; i++) limit.sample(ms)
    limit.inUse(limit.limit, true)
    clock.now += WINDOW_MS
    limits.push(limit.limit)
  }
  return limits
}

t.test('an HSM that is CPU work on this host keeps batches on one session', async t => {
  const run = simulate({ serviceMs: () => 0.03 }, { clients: 64 }, 2)
  t.equal(run.limit.concurrent, false, `${0.03} ms < ${WORTH_CONCURRENCY_MS} ms: not worth several at once`)
  t.equal(run.limit.limit, 1)
  t.equal(run.peak, 1)
})

t.test('the same HSM on a loaded host, where some calls wait for a core, still keeps its batches', async t => {
  let call = 0
  const run = simulate({ serviceMs: () => ++call % 3 === 0 ? 2 : 0.03 }, { clients: 64 }, 2)
  t.equal(run.limit.concurrent, false, 'its fastest calls still show CPU work')
  t.equal(run.peak, 1)
})

t.test('an HSM 1 ms away at KMS\'s 1,800 req/s: enough at once for the load (Little\'s law), far from the maximum', async t => {
  const run = simulate({ serviceMs: () => 1 }, { rate: 1800 }, 3)
  t.equal(run.limit.concurrent, true)
  t.ok(run.throughput >= 1750, `serves the load (${run.throughput}/s)`)
  t.ok(run.limit.limit >= 2 && run.limit.limit <= 16, `limit ${run.limit.limit}: at least 1,800 × 1 ms, not the maximum`)
})

t.test('an HSM 5 ms away under a closed loop of 64: the limit grows to the demand within a second', async t => {
  const run = simulate({ serviceMs: () => 5 }, { clients: 64 }, 2)
  const afterOneSecond = run.limits[Math.round(1000 / 100)]
  t.ok(afterOneSecond >= 32, `limit after 1 s: ${afterOneSecond}`)
  t.ok(run.throughput >= 8000, `~64 / 5 ms = 12,800/s (${run.throughput}/s)`)
  t.ok(run.peak <= 64, 'never above the maximum')
})

t.test('never above the maximum, nor above a lowered one', async t => {
  const run = simulate({ serviceMs: () => 2 }, { clients: 500 }, 2, 24)
  t.ok(run.peak <= 24, `peak ${run.peak}`)
  run.limit.lowerMax(10)
  t.equal(run.limit.max, 10)
  t.ok(run.limit.limit <= 10)
  const again = simulate({ serviceMs: () => 2 }, { clients: 500 }, 2, 10)
  t.ok(again.peak <= 10, `peak ${again.peak}`)
})

t.test('an HSM that queues internally past 8 at once: the limit stays near its capacity', async t => {
  // Past 8, each operation waits for the others: its time grows with the number in the HSM.
  const run = simulate({ serviceMs: n => 1 * Math.max(1, n / 8) }, { clients: 200 }, 3)
  t.ok(run.limit.limit <= 24, `limit ${run.limit.limit} (capacity 8: more only adds waiting inside the HSM)`)
  t.ok(run.throughput >= 6000, `about the HSM's capacity, 8 / 1 ms (${run.throughput}/s)`)
})

t.test('drops (busy answers, timeouts) cut the limit by a quarter; growth after a cut is slower', async t => {
  let now = 0
  const limit = new ConcurrencyLimit(64, () => now)
  const window = (fn: () => void): void => { fn(); now += WINDOW_MS }
  for (let i = 0; i < 6; i++) window(() => { for (let j = 0; j < 10; j++) limit.sample(1); limit.inUse(limit.limit, true) })
  const grown = limit.limit
  t.ok(grown >= 32, `slow start doubles while operations wait (${grown})`)
  window(() => { limit.sample(1); limit.drop() })
  t.equal(limit.limit, Math.floor(grown * 0.75))
  const cut = limit.limit
  window(() => { limit.sample(1); limit.inUse(limit.limit, true) })
  t.equal(limit.limit, Math.min(64, cut + Math.ceil(Math.sqrt(cut))), 'then grows by its square root')
})

t.test('a limit left half unused shrinks slowly', async t => {
  const clock = { now: 0 }
  const limit = new ConcurrencyLimit(64, () => clock.now)
  busyWindows(limit, clock, 5, 10, 1)
  const high = limit.limit
  for (let j = 0; j < 10; j++) limit.sample(1)
  limit.inUse(1, false)
  clock.now += WINDOW_MS
  t.equal(limit.limit, high - 1)
})

t.test('a lone slow window (a probe, a repair, a host short of cores) does not leave batches; three in a row do', async t => {
  let now = 0
  const limit = new ConcurrencyLimit(64, () => now)
  const window = (samples: number[]): void => { for (const ms of samples) limit.sample(ms); now += WINDOW_MS; void limit.limit }
  window([0.03, 0.03, 0.03, 0.03])
  window([5])
  window([2, 2, 2, 2])
  t.equal(limit.concurrent, false, 'one slow window of four, one of a single operation')
  window([0.03, 2, 2, 2])
  t.equal(limit.concurrent, false, 'a fast call in the window keeps batches')
  window([2, 2, 2, 2]); window([2, 2, 2, 2])
  t.equal(limit.concurrent, false, 'two in a row are not enough')
  window([2, 2, 2, 2])
  t.equal(limit.concurrent, true, 'three in a row')
  window([0.03, 0.03, 0.03, 0.03])
  t.equal(limit.concurrent, false, 'and the first fast window brings batches back')
})

t.test('a maximum below 1 is refused', async t => {
  t.throws(() => new ConcurrencyLimit(0), /at least 1/)
})

t.test('an HSM 5 ms away leaves batches after two dozen operations, not three windows', async t => {
  let now = 0
  const limit = new ConcurrencyLimit(64, () => now)
  for (let i = 0; i < 24; i++) { now += 5; limit.sample(5) }
  t.equal(limit.concurrent, true, `24 operations of 5 ms in a row (${now} ms, under 3 windows of ${WINDOW_MS} ms)`)
  let fast = 0
  const mixed = new ConcurrencyLimit(64, () => fast)
  for (let i = 0; i < 100; i++) { fast += 0.1; mixed.sample(i % 20 === 0 ? 0.03 : 2) }
  t.equal(mixed.concurrent, false, 'a CPU-bound HSM whose calls are mostly slow on a loaded host: one fast call in 20 keeps batches')
})

t.test('timeouts of operations that queued behind the batches do not end the slow start', async t => {
  const clock = { now: 0 }
  const limit = new ConcurrencyLimit(64, () => clock.now)
  // Batches: operations pile up behind one session and time out as the HSM's latency is learnt.
  for (let i = 0; i < 24; i++) { limit.sample(5); limit.drop(); limit.inUse(1, true) }
  t.equal(limit.concurrent, true)
  clock.now += WINDOW_MS
  limit.drop()
  limit.inUse(limit.limit, true)
  clock.now += WINDOW_MS
  const limits = busyWindows(limit, clock, 5, 20, 5)
  t.ok(limits[4] >= 32, `doubles from the switch on: ${limits.join(', ')}`)
})

t.test('a baseline learnt in batches is replaced when the HSM goes concurrent: its latency rose from µs to ms', async t => {
  const clock = { now: 0 }
  const limit = new ConcurrencyLimit(64, () => clock.now)
  busyWindows(limit, clock, 3, 50, 0.05)
  t.equal(limit.limit, 1, 'batches while the HSM answers in 50 µs')
  const limits = busyWindows(limit, clock, 8, 30, 5)
  t.ok(limit.concurrent, 'concurrent once every operation takes 5 ms')
  t.ok(limits[7] >= 16, `the limit grows with 5 ms operations waiting: ${limits.join(', ')} (a 50 µs baseline pinned it at 3)`)
})

// The HSM's own time rises while it is busy (an appliance under other tenants' load, a failover to a farther
// site): with the limit full all the time, no window is unloaded, and a baseline that follows only unloaded
// windows held the limit at 6, 1,200 operations a second at 5 ms (docs/operations.md "An HSM whose own latency
// rises"). A probe above the limit tells the two apart: the HSM's own time does not rise with more at once.
t.test('an HSM whose own time rises from 1 ms to 5 ms while it serves 1,800/s: the limit follows and the load is served', async t => {
  const run = simulate({ serviceMs: (_n, now) => now < 3000 ? 1 : 5 }, { rate: 1800 }, 10)
  t.ok(run.throughput >= 1750, `serves the load at 5 ms (${run.throughput}/s)`)
  const atFive = run.limits[Math.round(3000 / 100) + 20]
  t.ok(atFive >= 9, `limit 2 s after the rise: ${atFive} (1,800/s × 5 ms = 9 at once)`)
  t.ok(run.limit.view().baselineMs >= 4, `the baseline is the HSM's new time (${run.limit.view().baselineMs} ms)`)
})

t.test('the same rise at an HSM that also queues past 8 at once: it follows the rise, and still not the queueing', async t => {
  const run = simulate({ serviceMs: (n, now) => (now < 3000 ? 1 : 3) * Math.max(1, n / 8) }, { clients: 200 }, 20)
  t.ok(run.throughput >= 2400, `about the HSM's capacity, 8 / 3 ms (${run.throughput}/s)`)
  const late = run.limits.slice(-50)
  t.ok(Math.max(...late) <= 24, `limits over the last 5 s: at most ${Math.max(...late)} (capacity 8: more only adds waiting inside the HSM)`)
})

t.test('an HSM that queues internally past 8 at once, over a minute: probes above the limit do not let it creep up', async t => {
  const run = simulate({ serviceMs: n => 1 * Math.max(1, n / 8) }, { clients: 200 }, 60)
  const late = run.limits.slice(-100)
  const above = late.filter(l => l > 24)
  t.ok(above.length <= 2, `limits over the last 10 s: ${above.length} windows above 24 (${above.join(', ')}), probes of one window each`)
  t.ok(late[late.length - 1] <= 24, `and the limit at the end: ${late[late.length - 1]}`)
  t.ok(run.limit.view().baselineMs <= 1.5, `the baseline stays the HSM's own time (${run.limit.view().baselineMs} ms), not its queueing`)
})
