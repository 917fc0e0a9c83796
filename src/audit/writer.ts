/**
 * Writes audit lines to their file off the request path: lines wait in a bounded in-memory buffer and go to the
 * disk in batches through libuv's thread pool, so a slow or full disk never blocks the event loop.
 *
 * Failure policy. A write that fails (ENOSPC, EIO, the file removed) keeps its bytes: the writer closes the file,
 * waits (100 ms, doubling to 2 s) and reopens and retries, and a short write resumes where it stopped, so no
 * record is half-written by the writer itself. Meanwhile lines keep queueing up to `maxBufferBytes`; beyond that
 * `offer` refuses them, and the sink counts them as dropped and says so in the chain (sink.ts). Rotation: once the
 * file holds `rotateBytes`, it is renamed to `<file>.<UTC time>` between two batches and a new file is begun;
 * then the oldest rotated files beyond `keepFiles`, or beyond `keepBytes` together, are removed (never the newest,
 * from which a restart right after a rotation continues the chain: head.ts).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { settlesWithin } from '../settles-within'

const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 2000

export interface WriterOptions {
  file: string
  rotateBytes: number
  maxBufferBytes: number
  /** Called for each failed write (the first of a run is worth a warning; the sink rate-limits). */
  onError: (err: NodeJS.ErrnoException) => void
  /** Called each time everything offered so far is on disk. */
  onDrained?: () => void
  keepFiles?: number
  keepBytes?: number
  /** Rotated files removed for keepFiles/keepBytes, or the error that stopped removing them. */
  onPruned?: (removed: string[], err?: NodeJS.ErrnoException) => void
}

/** `<file>.<yyyymmddThhmmss.mmmZ>`: names that sort in time order, which head.ts relies on. */
export function rotatedName (file: string, at = new Date()): string {
  return `${file}.${at.toISOString().replace(/[-:]/g, '')}`
}

/** Whether `name` (in the directory of `file`) is a rotated file of `file`. */
export function isRotatedName (file: string, name: string): boolean {
  const prefix = path.basename(file) + '.'
  return name.startsWith(prefix) && /^\d{8}T\d{6}\.\d{3}Z$/.test(name.slice(prefix.length))
}

export class AuditWriter {
  #queue: string[] = []
  #queuedBytes = 0
  /** The unwritten rest of a batch whose write failed or was short. */
  #pending: Buffer | undefined
  #file: fs.FileHandle | undefined
  #fileBytes: number
  #running: Promise<void> | undefined
  #retryMs = 0
  #retryTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor (private readonly options: WriterOptions, fileBytes: number) {
    this.#fileBytes = fileBytes
  }

  /** Bytes accepted and not yet on disk. */
  get bufferedBytes (): number {
    return this.#queuedBytes + (this.#pending?.length ?? 0)
  }

  /** Queues a line; false (and nothing queued) when the buffer has no room for it. Never blocks, never throws. */
  offer (line: string): boolean {
    if (this.#closed || this.bufferedBytes + line.length > this.options.maxBufferBytes) return false
    this.#queue.push(line)
    this.#queuedBytes += line.length
    if (this.#retryTimer === undefined) this.#kick()
    return true
  }

  /**
   * Writes what is queued, within `timeoutMs`, and closes the file. Lines offered afterwards are refused. A write
   * the disk still holds at the deadline is left to finish on its own: a stop never waits on a stuck disk.
   */
  async close (timeoutMs: number): Promise<void> {
    this.#closed = true
    const deadline = Date.now() + timeoutMs
    const finishes = async (work: Promise<void> | undefined): Promise<boolean> => await settlesWithin(work ?? Promise.resolve(), deadline - Date.now())
    while (this.bufferedBytes > 0 && Date.now() < deadline) {
      if (this.#retryTimer !== undefined) { clearTimeout(this.#retryTimer); this.#retryTimer = undefined }
      this.#kick()
      if (!await finishes(this.#running)) return
      if (this.bufferedBytes > 0) await new Promise(resolve => setTimeout(resolve, Math.min(RETRY_MIN_MS, deadline - Date.now())))
    }
    if (!await finishes(this.#running)) return
    await this.#file?.close().catch(() => {})
    this.#file = undefined
  }

  /** Starts a drain unless one runs. */
  #kick (): void {
    if (this.#running !== undefined) return
    const running = this.#drain()
    this.#running = running
    void running.finally(() => { if (this.#running === running) this.#running = undefined })
  }

  async #drain (): Promise<void> {
    try {
      while (this.#pending !== undefined || this.#queue.length > 0) {
        if (this.#pending === undefined) {
          // Strings join far faster than Buffers concatenate; one write per batch.
          this.#pending = Buffer.from(this.#queue.join(''))
          this.#queue = []
          this.#queuedBytes = 0
        }
        this.#file ??= await fs.open(this.options.file, 'a', 0o600)
        const { bytesWritten } = await this.#file.write(this.#pending)
        this.#fileBytes += bytesWritten
        this.#pending = bytesWritten === this.#pending.length ? undefined : this.#pending.subarray(bytesWritten)
        this.#retryMs = 0
        if (this.#pending === undefined && this.#fileBytes >= this.options.rotateBytes) await this.#rotate()
      }
      this.options.onDrained?.()
    } catch (err) {
      this.options.onError(err as NodeJS.ErrnoException)
      await this.#file?.close().catch(() => {})
      this.#file = undefined
      this.#retryMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.#retryMs * 2))
      if (!this.#closed) {
        this.#retryTimer = setTimeout(() => { this.#retryTimer = undefined; this.#kick() }, this.#retryMs)
        this.#retryTimer.unref()
      }
    }
  }

  async #rotate (): Promise<void> {
    await this.#file?.close()
    this.#file = undefined
    // Never onto an existing name (two rotations within one millisecond): one millisecond later keeps the order.
    let at = Date.now()
    while (await fs.access(rotatedName(this.options.file, new Date(at))).then(() => true, () => false)) at++
    await fs.rename(this.options.file, rotatedName(this.options.file, new Date(at)))
    this.#fileBytes = 0
    if (this.options.keepFiles !== undefined || this.options.keepBytes !== undefined) await this.#prune()
  }

  /** Removes the oldest rotated files beyond keepFiles or keepBytes. A failure is reported, never thrown. */
  async #prune (): Promise<void> {
    const removed: string[] = []
    try {
      const dir = path.dirname(this.options.file)
      const names = (await fs.readdir(dir)).filter(n => isRotatedName(this.options.file, n)).sort().reverse()
      let kept = 0
      let keptBytes = 0
      for (const name of names) {
        const file = path.join(dir, name)
        // Newest first: once one goes, every older one goes too.
        if (removed.length === 0) {
          const { size } = await fs.stat(file)
          if (kept === 0 || (kept < (this.options.keepFiles ?? Infinity) && keptBytes + size <= (this.options.keepBytes ?? Infinity))) {
            kept++
            keptBytes += size
            continue
          }
        }
        await fs.rm(file, { force: true })
        removed.push(file)
      }
      if (removed.length > 0) this.options.onPruned?.(removed)
    } catch (err) {
      this.options.onPruned?.(removed, err as NodeJS.ErrnoException)
    }
  }
}
