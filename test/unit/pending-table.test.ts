/**
 * PendingTable (src/hsm/pending-table.ts): the pool's operations in a worker, by id. An answer finds its own
 * operation and no other, a slot is reused only once answered, and a steady load never grows the table.
 */
import t from 'tap'
import { PendingTable } from '../../src/hsm/pending-table'

t.test('each id takes back its own item, once', async t => {
  const table = new PendingTable<string>()
  const a = table.add('a')
  const b = table.add('b')
  t.not(a, b)
  t.equal(table.size, 2)
  t.equal(table.take(b), 'b')
  t.equal(table.take(b), undefined, 'a second answer under the same id finds nothing')
  t.equal(table.take(a), 'a')
  t.equal(table.size, 0)
})

t.test('a reused slot answers only to its new id: a stale id finds nothing', async t => {
  const table = new PendingTable<string>()
  const first = table.add('first')
  table.take(first)
  const second = table.add('second')
  t.equal(table.capacity, 1, 'the freed slot was reused')
  t.not(second, first)
  t.equal(table.take(first), undefined)
  t.equal(table.take(second), 'second')
})

t.test('ids stay small integers however often a slot is reused', async t => {
  const table = new PendingTable<number>()
  const seen = new Set<number>()
  const wrong: string[] = []
  for (let i = 0; i < 70_000; i++) {
    const id = table.add(i)
    if (i < 32_768) seen.add(id)
    if (table.take(id) !== i) wrong.push(`id ${id} did not take back ${i}`)
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 31) wrong.push(`id ${id} is not a small non-negative integer`)
  }
  t.same(wrong.slice(0, 3), [])
  t.equal(seen.size, 32_768, 'a slot gives 32,768 distinct ids before one recurs')
  t.equal(table.capacity, 1)
})

t.test('a steady load of 64 at once keeps 64 slots', async t => {
  const table = new PendingTable<number>()
  const held: number[] = []
  for (let i = 0; i < 64; i++) held.push(table.add(i))
  for (let i = 0; i < 100_000; i++) {
    const at = i % 64
    table.take(held[at])
    held[at] = table.add(i)
  }
  t.equal(table.capacity, 64)
  t.equal(table.size, 64)
})

t.test('forEach visits what is held; clear returns it and empties the table', async t => {
  const table = new PendingTable<string>()
  const ids = ['a', 'b', 'c'].map(x => table.add(x))
  table.take(ids[1])
  const visited: string[] = []
  table.forEach(x => visited.push(x))
  t.same(visited.sort(), ['a', 'c'])
  t.same(table.clear().sort(), ['a', 'c'])
  t.equal(table.size, 0)
  t.equal(table.take(ids[0]), undefined, 'an id held before the clear finds nothing')
  table.add('d')
  t.equal(table.capacity, 3, 'cleared slots are reused')
})
