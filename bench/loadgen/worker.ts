import { performance } from 'node:perf_hooks'
import path from 'node:path'
import { parentPort, Worker, workerData } from 'node:worker_threads'
import { Signer } from '../sign'
import { Connection } from './connection'
import type { WorkerConfig } from './protocol'
import { Recorder } from './recorder'
import { DateClock, IdSource, WireRequest } from './wire'

/**
 * One load-generator thread: opens its connections, reports 'ready', runs its loop on 'go', and answers with its
 * histograms. Closed loop: every connection sends its next request as soon as the previous response is in.
 * Open loop: request i is due at start + i/rate whatever happened before; its latency is counted from that
 * intended time, so time spent waiting behind a slow server (or for a free connection) is not hidden.
 */

const cfg = workerData as WorkerConfig
const signer = new Signer(cfg.creds)
const ids = new IdSource(cfg.runTag, cfg.thread)
const clock = new DateClock()
const rec = new Recorder()

/** A connection, its position in the mix, and the request buffer it has in flight. */
interface Slot { conn: Connection, cursor: number, template: number, wire: WireRequest | undefined }

/**
 * Request buffers, per template, shared by the thread's connections: a buffer is taken for a send and given back
 * with the response, so memory follows the requests in flight rather than connections × templates (the overload
 * phase opens well over a thousand connections).
 */
const pools: WireRequest[][] = cfg.templates.map(() => [])

function nextRequest (slot: Slot): Buffer {
  const t = cfg.order[slot.cursor]
  slot.cursor = (slot.cursor + 1) % cfg.order.length
  slot.template = t
  slot.wire = pools[t].pop() ?? new WireRequest(cfg.templates[t], cfg.hostHeader, signer)
  return slot.wire.prepare(ids.next(), clock.now(), cfg.hostHeader, signer)
}

function release (slot: Slot): void {
  pools[slot.template].push(slot.wire!)
  slot.wire = undefined
}

/** Opens the connections a few dozen at a time, so that the server's accept backlog never overflows. */
async function openSlots (): Promise<Slot[]> {
  const slots: Slot[] = []
  for (let i = 0; i < cfg.connections; i += 64) {
    const batch = Array.from({ length: Math.min(64, cfg.connections - i) }, () => new Connection({ host: cfg.host, port: cfg.port, clientCert: cfg.clientCert }))
    await Promise.all(batch.map(c => c.open()))
    // Spread the connections over the mix so they do not all send the same op at once.
    for (const conn of batch) {
      slots.push({ conn, cursor: Math.floor(slots.length * cfg.order.length / cfg.connections), template: 0, wire: undefined })
    }
  }
  return slots
}

function closedLoop (slots: Slot[], done: () => void): void {
  const warmEnd = performance.now() + cfg.warmupMs
  const end = warmEnd + cfg.measureMs
  let active = slots.length
  const finish = once(() => { clearTimeout(drain); rec.timeouts += active; done() })
  const fire = (slot: Slot): void => {
    if (performance.now() >= end) { if (--active === 0) finish(); return }
    const t0 = performance.now()
    slot.conn.send(nextRequest(slot), status => {
      release(slot)
      const t1 = performance.now()
      if (t1 >= warmEnd && t1 < end) rec.record(status, t1 - t0)
      whenFree(slot, fire, () => { if (--active === 0) finish() })
    })
  }
  const drain = setTimeout(finish, cfg.warmupMs + cfg.measureMs + cfg.drainMs)
  slots.forEach(fire)
}

/**
 * Calls `then` once the connection is usable again (it may be reconnecting after a server-side close), or
 * `dead` if it cannot be reopened.
 */
function whenFree (slot: Slot, then: (s: Slot) => void, dead: () => void = () => {}): void {
  if (slot.conn.available) then(slot)
  else if (slot.conn.state === 'dead') dead()
  else setTimeout(() => whenFree(slot, then, dead), 10)
}

function once (fn: () => void): () => void {
  let called = false
  return () => { if (!called) { called = true; fn() } }
}

function openLoop (slots: Slot[], done: () => void): void {
  const interval = 1000 / cfg.rate!
  // Request 0 is due shortly after now, once the pacer thread is up.
  const start = performance.now() + 50
  const first = Math.ceil(cfg.warmupMs / interval)
  const total = Math.ceil((cfg.warmupMs + cfg.measureMs) / interval)
  const free = slots.slice()
  const inFlight = new Set<number>()
  let next = 0
  const intended = (i: number): number => start + i * interval
  const pacer = new Worker(path.join(__dirname, 'pacer.js'), {
    workerData: { start: performance.timeOrigin + start, interval, total },
  })

  const pump = (): void => {
    const now = performance.now()
    const due = Math.min(total, Math.floor((now - start) / interval) + 1)
    // First in, first out: every connection stays in use, so none reaches the server's idle timeout.
    while (next < due && free.length > 0) send(next++, free.shift()!, now)
    if (next === total && inFlight.size === 0) finish()
  }
  const send = (i: number, slot: Slot, now: number): void => {
    const measured = i >= first
    if (measured) { rec.lag.recordValue(Math.max(1, Math.round((now - intended(i)) * 1000))); inFlight.add(i) }
    const from = cfg.latencyFromSend === true ? now : intended(i)
    slot.conn.send(nextRequest(slot), status => {
      release(slot)
      if (measured) { inFlight.delete(i); rec.record(status, performance.now() - from) }
      // A request that waited for a free connection goes out now.
      whenFree(slot, s => { free.push(s); pump() })
    })
  }
  const finish = once(() => {
    void pacer.terminate()
    clearTimeout(drain)
    // Whatever is still unanswered, or was never sent, counts with the latency it has reached so far.
    const now = performance.now()
    for (const i of inFlight) rec.timeout(now - intended(i))
    for (let i = Math.max(next, first); i < total; i++) rec.timeout(now - intended(i))
    done()
  })
  const drain = setTimeout(finish, 50 + cfg.warmupMs + cfg.measureMs + cfg.drainMs)
  pacer.on('message', pump)
}

async function main (): Promise<void> {
  const slots = await openSlots()
  parentPort!.postMessage({ type: 'ready' })
  await new Promise(resolve => parentPort!.once('message', resolve))
  const done = (): void => {
    parentPort!.postMessage({ type: 'result', result: rec.result(cfg.measureMs) })
    slots.forEach(s => s.conn.close())
  }
  if (cfg.rate === undefined) closedLoop(slots, done)
  else openLoop(slots, done)
}

main().catch(err => {
  parentPort!.postMessage({ type: 'error', message: String(err?.stack ?? err) })
})
