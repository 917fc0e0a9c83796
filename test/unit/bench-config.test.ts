import t from 'tap'
import { parseArgs } from '../../bench/config'

t.test('--hsm-latency-ms picks scenario h\'s latencies, and a and h unless --only says otherwise', async t => {
  t.same(parseArgs([]).hsmLatenciesMs, [0.5, 1, 2, 5], 'the issue\'s latencies by default')
  t.ok(parseArgs([]).scenarios.has('h'), 'h is part of a full run')
  const given = parseArgs(['--hsm-latency-ms', '0.5,5'])
  t.same(given.hsmLatenciesMs, [0.5, 5])
  t.same([...given.scenarios].sort(), ['a', 'h'], 'a gives h its floor')
  t.same([...parseArgs(['--only', 'h', '--hsm-latency-ms', '1']).scenarios], ['h'])
  t.same([...parseArgs(['--hsm-latency-ms', '1', '--only', 'c,h']).scenarios], ['c', 'h'])
  t.throws(() => parseArgs(['--hsm-latency-ms', '1,x']), /--hsm-latency-ms needs milliseconds from 0 to 1000, got "x"/)
})
