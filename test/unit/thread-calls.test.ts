/**
 * ThreadCalls (src/hsm/pkcs11/thread-calls.ts): every operation that waits to run alone gets its turn (the
 * former single callback slot left all but the last waiting for ever), none while a call is in the module, and
 * calls wait while one runs alone or waits to.
 */
import t from 'tap'
import { ThreadCalls } from '../../src/hsm/pkcs11/thread-calls'

const settled = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))

t.test('three waiting to run alone behind two calls: each runs once both calls left, one at a time', async t => {
  const calls = new ThreadCalls()
  await calls.enterCall()
  await calls.enterCall()
  const order: string[] = []
  let alone = 0
  const waiters = ['a', 'b', 'c'].map(async name => {
    await calls.alone()
    alone++
    order.push(`${name} alone (${alone} at once)`)
    await settled()
    alone--
    calls.done()
  })
  await settled()
  t.same(order, [], 'none runs alone while calls are in the module')
  calls.leaveCall()
  await settled()
  t.same(order, [], 'nor with one call left')
  calls.leaveCall()
  await Promise.all(waiters)
  t.same(order, ['a alone (1 at once)', 'b alone (1 at once)', 'c alone (1 at once)'], 'every one got its turn, in order, alone')
})

t.test('a call waits while one runs alone, and while one waits to', async t => {
  const calls = new ThreadCalls()
  await calls.enterCall()
  const aloneDone = calls.alone()
  let entered = false
  const call = calls.enterCall().then(() => { entered = true })
  await settled()
  t.notOk(entered, 'a new call waits behind the one waiting to run alone')
  calls.leaveCall()
  await aloneDone
  await settled()
  t.notOk(entered, 'and while it runs alone')
  calls.done()
  await call
  t.ok(entered, 'then it enters')
  calls.leaveCall()
})
