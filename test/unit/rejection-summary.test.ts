import t from 'tap'
import { GROUPS_PER_SECOND, MAX_REJECTION_GROUPS, rejectedBeforeAuthentication, RejectionSummary, type RejectionInterval } from '../../src/xks/rejection-summary'
import type { RequestLogEntry } from '../../src/xks/request-log'

const rejection = (accessKeyId: string, remote = '10.0.0.1'): RequestLogEntry => ({
  operation: 'encrypt', keyStore: 'ks', uriPrefix: '/ks/kms/xks/v1', keyId: 'foo', accessKeyId, region: undefined, status: 401,
  errorName: 'AuthenticationFailedException', detail: 'Unknown access key id', latencyMs: 0.1, remote, metadata: undefined, policySid: undefined,
})

t.test('which requests count as rejected before authentication', async t => {
  t.ok(rejectedBeforeAuthentication(rejection('A')), 'a 401')
  t.ok(rejectedBeforeAuthentication({ ...rejection('A'), operation: undefined, accessKeyId: undefined, status: 404, errorName: 'InvalidUriPathException' }), 'no route')
  t.notOk(rejectedBeforeAuthentication({ ...rejection('A'), status: 403, errorName: 'AccessDeniedException' }), 'a policy denial: after authentication')
  t.notOk(rejectedBeforeAuthentication({ ...rejection('A'), status: 404, errorName: 'KeyNotFoundException' }), 'an unknown key: after authentication')
  t.notOk(rejectedBeforeAuthentication({ ...rejection('A'), status: 200 }), 'served')
})

t.test('one group per reason, access key id and source, with exact counts; nothing handed over for an empty interval', async t => {
  const intervals: RejectionInterval[] = []
  const summary = new RejectionSummary(i => intervals.push(i), 60_000)
  for (let i = 0; i < 3; i++) summary.count(rejection('A'))
  summary.count(rejection('B'))
  summary.count(rejection('A', '10.0.0.2'))
  summary.count({ ...rejection('A'), detail: 'Signature does not match' })
  summary.flush()
  summary.flush()
  t.equal(intervals.length, 1)
  t.same(intervals[0].groups.map(g => [g.accessKeyId, g.remote, g.detail, g.count]), [
    ['A', '10.0.0.1', 'Unknown access key id', 3], ['B', '10.0.0.1', 'Unknown access key id', 1],
    ['A', '10.0.0.2', 'Unknown access key id', 1], ['A', '10.0.0.1', 'Signature does not match', 1],
  ])
  t.equal(intervals[0].other, 0)
})

t.test('an attacker varying the access key id and source: the groups stay bounded, the rest is counted in other', async t => {
  const intervals: RejectionInterval[] = []
  const summary = new RejectionSummary(i => intervals.push(i), 60_000)
  for (let i = 0; i < 10_000; i++) summary.count(rejection(`AKID${i}`, `10.0.${i >> 8}.${i & 255}`))
  summary.flush()
  t.equal(intervals[0].groups.length, MAX_REJECTION_GROUPS)
  t.equal(intervals[0].other, 10_000 - MAX_REJECTION_GROUPS)
  t.equal(intervals[0].groups.reduce((n, g) => n + g.count, intervals[0].other), 10_000, 'every request counted')
})

t.test('a sustained flood of new ids: the budget of new groups refills at GROUPS_PER_SECOND; known groups still count', async t => {
  let now = 0
  const intervals: RejectionInterval[] = []
  const summary = new RejectionSummary(i => intervals.push(i), 1000, MAX_REJECTION_GROUPS, () => now)
  let id = 0
  // 30 s of 1,000 new ids a second, flushed each second as the timer would.
  for (let second = 0; second < 30; second++) {
    for (let i = 0; i < 1000; i++) summary.count(rejection(`AKID${id++}`))
    summary.flush()
    now += 1000
  }
  t.equal(intervals[0].groups.length, MAX_REJECTION_GROUPS, 'the first second: the whole burst')
  const later = intervals.slice(1).reduce((n, i) => n + i.groups.length, 0)
  t.equal(later, 29 * GROUPS_PER_SECOND, 'then one group a second')
  t.equal(intervals.reduce((n, i) => n + i.other + i.groups.reduce((m, g) => m + g.count, 0), 0), 30_000, 'every request counted')
  // After a quiet spell the budget is back.
  now += 60_000
  for (let i = 0; i < 100; i++) summary.count(rejection(`AKID${id++}`))
  summary.flush()
  t.equal(intervals.at(-1)?.groups.length, MAX_REJECTION_GROUPS)
})

t.test('the interval closes by itself', async t => {
  const intervals: RejectionInterval[] = []
  const summary = new RejectionSummary(i => intervals.push(i), 20)
  summary.count(rejection('A'))
  summary.count(rejection('A'))
  await new Promise(resolve => setTimeout(resolve, 200))
  t.match(intervals, [{ groups: [{ count: 2 }], other: 0, intervalMs: 20 }])
  summary.count(rejection('A'))
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(intervals.length, 2, 'a new interval after the first closed')
})
