/**
 * Log lines an operator can feed to jq: every line one JSON object without duplicate keys (JSON.parse and jq
 * silently keep the last one, so a primary's line about a child would read as the child's), and a serving
 * process that exits cleanly is not logged as an error.
 */
import t from 'tap'
import { TWO_CORE_SIZING } from '../helpers/cluster'
import { startDevServer } from '../helpers/dev-server'
import { until } from '../helpers/until'

/** Keys that occur twice in one object, at any depth, of a valid JSON text. */
function duplicateKeys (text: string): string[] {
  const duplicates: string[] = []
  // One entry per open object (its keys so far) or array (null).
  const open: Array<Set<string> | null> = []
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '{') open.push(new Set())
    else if (c === '[') open.push(null)
    else if (c === '}' || c === ']') open.pop()
    else if (c === '"') {
      let end = i + 1
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      const keys = open[open.length - 1]
      // In valid JSON a string followed by a colon is a key; anything else is a value.
      if (text[end + 1] === ':' && keys !== undefined && keys !== null) {
        const key = JSON.parse(text.slice(i, end + 1)) as string
        if (keys.has(key)) duplicates.push(key)
        keys.add(key)
      }
      i = end
    }
  }
  return duplicates
}

t.test('the duplicate-key check finds what JSON.parse hides', async t => {
  t.same(duplicateKeys('{"pid":1,"worker":0,"worker":2,"pid":3}'), ['worker', 'pid'])
  t.same(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":"x\\"y","d":1}],"e":"k:v"}'), ['b', 'd'])
  t.same(duplicateKeys('{"a":{"b":1},"c":{"b":2},"s":"{\\"a\\":1,\\"a\\":2}"}'), [])
})

t.test('a cluster run logs no duplicate key, and a clean exit of one process as a warning, not an error', async t => {
  const server = await startDevServer({ args: ['--processes', '2'], env: { ...TWO_CORE_SIZING, XKSGATE__replay__allowProcessLocal: 'true', XKSGATE__shutdown__lingerMs: '0' } })
  t.teardown(server.stop)
  const lines = (): Array<Record<string, any>> => server.output().split('\n').filter(l => l !== '').map(l => JSON.parse(l))
  // Log writes are asynchronous: a process may be ready a moment before its line reaches the pipe.
  const listening = (): Array<Record<string, any>> => lines().filter(l => l.msg === 'xksgate listening')
  await until('both serving processes logged that they listen', () => listening().length === 2)
  const serving = listening()
  const stopped = { pid: serving[0].pid as number, worker: serving[0].worker as number }

  // SIGTERM to one serving process only: it stops gracefully (exit 0), and the primary replaces it.
  process.kill(stopped.pid, 'SIGTERM')
  // A serving process's start (Node, HSM threads, login) took past 30 s at load average 25-30 on 2 cores.
  await until('the replacement is ready', () => lines().filter(l => l.msg === 'serving process ready').length === 3, 90_000)
  t.equal(await server.stop(), 0)

  const output = server.output()
  for (const line of output.split('\n').filter(l => l !== '')) {
    t.same(duplicateKeys(line), [], `no duplicate key in ${line}`)
  }
  const all = lines()
  const exited = all.filter(l => l.servingProcess?.pid === stopped.pid && /exited|died/.test(l.msg))
  t.match(exited, [{ level: 40, msg: 'serving process exited cleanly; replacing it', code: 0, signal: null, servingProcess: stopped }])
  t.same(all.filter(l => l.level >= 50), [], 'nothing at error level: nothing failed')
  const primary = server.process.pid
  t.ok(all.filter(l => l.msg === 'serving process ready').every(l => l.pid === primary && l.worker === 0), 'the primary\'s lines carry its own pid and worker')
})
