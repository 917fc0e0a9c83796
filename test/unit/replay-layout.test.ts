import t from 'tap'
import { HOST_PROCESSES_ENV, processesOnHost, replayLayoutProblem } from '../../src/replay/replay-layout'

const replay = { failurePolicy: 'fail-open-local' as const, commandTimeoutMs: 50, keyPrefix: 'x:', allowProcessLocal: false }

t.test('processes on the host: the cluster\'s, or the PM2 instances the ecosystem file declares', async t => {
  t.equal(processesOnHost(1, {}), 1)
  t.equal(processesOnHost(4, {}), 4)
  t.equal(processesOnHost(1, { [HOST_PROCESSES_ENV]: '2' }), 2, 'PM2 fork mode: one process per instance')
  t.equal(processesOnHost(1, { [HOST_PROCESSES_ENV]: 'junk' }), 1)
})

t.test('several processes without Redis cannot promise one use per signature', async t => {
  t.match(replayLayoutProblem({ replay }, 2), /^\/redis: 2 serving processes share this host's port without Redis/)
  t.equal(replayLayoutProblem({ replay }, 1), undefined, 'one process: its own cache sees every request')
  t.equal(replayLayoutProblem({ replay, redis: { mode: 'standalone', url: 'redis://127.0.0.1', connectTimeoutMs: 2000 } }, 8), undefined, 'Redis sees every process')
  t.equal(replayLayoutProblem({ replay: { ...replay, allowProcessLocal: true } }, 2), undefined, 'explicit opt-out')
})
