import { MessageChannel } from 'node:worker_threads'
import t from 'tap'
import { XksError } from '../../src/xks/errors'
import { withinRequestBudget } from '../../src/xks/deadline'

/** Blocks the event loop, as a saturated main thread does. */
const busyFor = (ms: number): void => { const end = Date.now() + ms; while (Date.now() < end); }

// Regression: under overload the budget timer fired in the timers phase while the answer was already queued for
// the poll phase of the same event-loop turn, and the request got a 503 it need not have had.
t.test('an answer already queued when the budget runs out wins', async t => {
  const { port1, port2 } = new MessageChannel()
  t.teardown(() => { port1.close(); port2.close() })
  const answer = new Promise<string>(resolve => port2.once('message', resolve))
  const result = withinRequestBudget(answer, 10)
  // The answer is sent, then the loop is kept busy past the 10 ms budget (from the check phase, so that the next
  // turn starts with its timers): the budget timer and the queued answer are then due in the same turn.
  setImmediate(() => { port1.postMessage('answer'); busyFor(40) })
  t.equal(await result, 'answer')
})

t.test('with no answer, the budget still answers 503 DependencyTimeoutException', async t => {
  const started = Date.now()
  const error = await withinRequestBudget(new Promise(() => {}), 20).catch((e: unknown) => e)
  t.ok(error instanceof XksError && error.errorName === 'DependencyTimeoutException' && error.status === 503)
  // The answer never comes: any end is the budget's; the bound leaves room for a loaded host's stalls.
  t.ok(Date.now() - started < 2000, 'at the budget')
})
