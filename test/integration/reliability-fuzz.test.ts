/**
 * The short fuzz run (bench/reliability/fuzz): 10,000 mutated requests (JSON, base64, headers, SigV4 fields,
 * framing), correctly signed where the mutation is in the body. Every answer must be spec-shaped JSON with no
 * unexpected 5xx; broken framing may instead close the connection, or be refused by the HTTP parser's own page
 * (the uWS build of Node 22 and 24), and the proxy must still serve afterwards. The
 * seed is random per run and printed; XKSGATE_FUZZ_SEED=S reruns one, and a failure names the case to replay
 * with `npm run reliability -- --seed S --case N`.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { fuzzProxy } from '../../bench/reliability/fuzz/fuzz-proxy'
import { fuzzSummary } from '../../bench/reliability/fuzz/run-fuzz'

const COUNT = 10_000

t.test(`${COUNT} fuzzed requests: no crash, no unexpected 5xx, every answer spec-shaped`, async t => {
  const seed = Number(process.env.XKSGATE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const devDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-fuzz-')), 'dev')
  t.teardown(() => fs.rmSync(path.dirname(devDir), { recursive: true, force: true }))
  const run = await fuzzProxy(devDir, { seed, count: COUNT, lanes: 12 })
  t.comment(fuzzSummary(run.totals))
  t.equal(run.totals.requests, COUNT, 'every case sent')
  t.ok(run.totals.byStatus['200'] > 0 && run.totals.byStatus['400'] > 0 && run.totals.closed > 0, 'the cases reached success, validation and framing')
  t.same(run.totals.failures.slice(0, 5), [], `no failure (seed ${seed})`)
  t.same(run.problems, [], `the proxy survived (seed ${seed})`)
})
