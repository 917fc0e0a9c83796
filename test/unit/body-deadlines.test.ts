/**
 * The shared body-deadline sweep (src/server/body-deadlines.ts): an entry past its deadline is expired by the next
 * sweep, one still in time is not, a deleted one never is, and the interval stops once nothing is pending.
 */
import t from 'tap'
import { BodyDeadlines } from '../../src/server/body-deadlines'
import { until } from '../helpers/until'

const SWEEP_MS = 20

function entry (inMs: number): { deadline: number, expired: boolean, expire: () => void } {
  const e = { deadline: performance.now() + inMs, expired: false, expire: () => { e.expired = true } }
  return e
}

t.test('expires entries past their deadline, and only those', async t => {
  const deadlines = new BodyDeadlines(SWEEP_MS)
  const deleted = entry(0)
  const soon = entry(30)
  const late = entry(60_000)
  for (const e of [deleted, soon, late]) deadlines.add(e)
  t.ok(deadlines.sweeping, 'sweeping while entries are pending')
  deadlines.delete(deleted)
  await until('the first deadline', () => soon.expired)
  t.ok(performance.now() >= soon.deadline, 'not before its deadline')
  // The sweep that expired `soon` was past the deleted entry's deadline too.
  t.notOk(deleted.expired, 'a deleted entry (its body arrived) is never expired')
  t.notOk(late.expired, 'an entry still in time is not expired')
  t.ok(deadlines.sweeping, 'still sweeping: one entry is pending')
  deadlines.delete(late)
  await until('the sweep stops once nothing is pending', () => !deadlines.sweeping)
  t.notOk(late.expired)
})

t.test('restarts when an entry comes after it stopped', async t => {
  const deadlines = new BodyDeadlines(SWEEP_MS)
  const first = entry(0)
  deadlines.add(first)
  await until('first expired and the sweep stopped', () => first.expired && !deadlines.sweeping)
  const second = entry(10)
  deadlines.add(second)
  t.ok(deadlines.sweeping, 'sweeping again')
  await until('second expired', () => second.expired)
})
