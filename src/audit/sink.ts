/**
 * The audit sink (config `audit`): one chained record per request, with the request log's fields
 * (src/xks/request-log.ts: never plaintext, key material, secrets or the Authorization header), written by
 * writer.ts off the request path. Recording costs the request one JSON.stringify and one HMAC-SHA256, both
 * synchronous and small (`npm run bench -- --stages`, row "audit record").
 *
 * When the disk cannot keep up and the buffer is full, a record is dropped *before* it joins the chain; once
 * the buffer is half empty again the next record is preceded by `{"type":"dropped","count":N}`: the chain stays
 * unbroken and says what it lost, the metrics count it (xksgate_audit_records_dropped_total), and the request is served regardless (an
 * audit outage is not a KMS outage). Requests shed with 429 are summed once a second, as in the request log, and
 * so are requests rejected before authentication (`rejected`: their groups and counts, rejection-summary.ts).
 */
import { AuditChain } from './chain'
import { AuditHeadError, recoverHead } from './head'
import { claimSlot, type Slot } from './slot'
import { AuditWriter } from './writer'
import { ConfigError } from '../config/load'
import type { ResolvedAudit } from '../config/schema'
import type { Logger } from '../log'
import { RejectionSummary, type RejectionInterval } from '../xks/rejection-summary'
import { requestLogFields, type RequestLogEntry } from '../xks/request-log'

const SHED_SUMMARY_MS = 1000
const CLOSE_TIMEOUT_MS = 2000
/** At most one warning per this interval about failing writes or drops; the metrics count every one. */
const WARN_INTERVAL_MS = 60_000

/** Opens the sink for a serving process, its failures as configuration errors naming the field. */
export function openAuditSink (config: ResolvedAudit, log: Logger, identity: { version: string }): AuditSink {
  try {
    return AuditSink.open(config, log, identity)
  } catch (err) {
    if (err instanceof AuditHeadError) throw new ConfigError([err.message])
    const code = (err as NodeJS.ErrnoException).code
    if (code !== undefined) throw new ConfigError([`/audit/file: cannot write the audit log beside ${config.file}: ${code}`])
    throw err
  }
}

export interface AuditStats { dropped: number, writeErrors: number, bufferedBytes: number }

export class AuditSink {
  #dropped = 0
  #droppedTotal = 0
  #writeErrors = 0
  #shed = 0
  #shedTimer: NodeJS.Timeout | undefined
  /** The `audit: chain opened` line's fields, until the start record is on disk. */
  #opened: object | undefined
  readonly #rejections = new RejectionSummary(interval => this.#recordRejections(interval))
  /** When each kind of warning was last logged. */
  readonly #lastWarn = new Map<string, number>()

  private constructor (
    private readonly chain: AuditChain,
    private readonly writer: AuditWriter,
    private readonly slot: Slot,
    private readonly log: Logger,
    private readonly maxBufferBytes: number
  ) {}

  /** Claims this process's slot, continues its chain and writes the `start` record. Throws AuditHeadError. */
  static open (config: ResolvedAudit, log: Logger, identity: { version: string }): AuditSink {
    const slot = claimSlot(config.file)
    try {
      const key = Buffer.from(config.key.reveal(), 'utf8')
      const recovered = recoverHead(slot.file, key)
      const chain = new AuditChain(key, recovered.head)
      let sink: AuditSink | undefined
      const writer = new AuditWriter({
        file: slot.file,
        rotateBytes: config.rotateBytes,
        maxBufferBytes: config.maxBufferBytes,
        onError: err => sink?.writeFailed(err),
        onDrained: () => sink?.drained(),
        keepFiles: config.keepFiles,
        keepBytes: config.keepBytes,
        onPruned: (removed, err) => sink?.pruned(removed, err),
      }, recovered.fileBytes)
      sink = new AuditSink(chain, writer, slot, log, config.maxBufferBytes)
      // What this start follows: the last record's seq and MAC, and whether it is a clean `stop`. A start after
      // anything else is a crash or a cut, and the verifier says so (verify.ts).
      const previous = recovered.head === undefined ? undefined : { seq: recovered.head.seq, mac: recovered.head.mac, stopped: recovered.stopped }
      const start = { pid: process.pid, version: identity.version, slot: slot.index, ...(previous !== undefined && { previous }), ...(recovered.damagedTail > 0 && { damagedTail: recovered.damagedTail }) }
      chain.tryAppend('start', start, line => writer.offer((recovered.needsNewline ? '\n' : '') + line))
      if (recovered.damagedTail > 0) log.warn({ file: slot.file, bytes: recovered.damagedTail }, 'audit: the file ends in a record cut short (a crash?); the chain continues from the last whole record')
      if (previous?.stopped === false) log.warn({ file: slot.file, chain: chain.chain, previousSeq: previous.seq }, 'audit: the chain does not end in a stop record: the process before did not stop cleanly (a crash?), or the end of the file was cut; the start record says so')
      // Logged once the start record is on disk: a head the log names and the file lacks means records were cut.
      sink.#opened = sink.#headFields({ slot: slot.index, previous })
      return sink
    } catch (err) {
      slot.release()
      throw err
    }
  }

  get stats (): AuditStats {
    return { dropped: this.#droppedTotal, writeErrors: this.#writeErrors, bufferedBytes: this.writer.bufferedBytes }
  }

  /** Called next to the request log line; never throws, never waits. */
  record (entry: RequestLogEntry): void {
    this.#append('request', requestLogFields(entry))
  }

  /** A request shed with 429 before it was parsed: counted, and summed up in one record a second. */
  countShed (): void {
    this.#shed++
    if (this.#shedTimer !== undefined) return
    this.#shedTimer = setTimeout(() => this.#flushShed(), SHED_SUMMARY_MS)
    this.#shedTimer.unref()
  }

  /** A request rejected before authentication: counted, and summed up with others in one record a second. */
  countRejected (entry: RequestLogEntry): void {
    this.#rejections.count(entry)
  }

  /** The `stop` record, then everything buffered (within 2 s), then the lock. */
  async close (): Promise<void> {
    if (this.#shedTimer !== undefined) { clearTimeout(this.#shedTimer); this.#flushShed() }
    this.#rejections.flush()
    this.#append('stop', { pid: process.pid })
    await this.writer.close(CLOSE_TIMEOUT_MS)
    this.slot.release()
    this.log.info(this.#headFields({ unwritten: this.writer.bufferedBytes }), 'audit: chain closed')
  }

  /**
   * The head (the `start` or `stop` record just written), for the ordinary log: a copy outside the file, which
   * `xksgate audit verify --heads-from LOG` holds the chain to, so a cut end or a rewrite from an earlier record shows.
   */
  #headFields (fields: object): object {
    const { head } = this.chain
    return { file: this.slot.file, chain: this.chain.chain, seq: head?.seq, mac: head?.mac, ...fields }
  }

  private pruned (removed: string[], err: NodeJS.ErrnoException | undefined): void {
    if (removed.length > 0) this.log.info({ file: this.slot.file, removed }, 'audit: rotated files removed (audit.keepFiles / audit.keepBytes)')
    if (err !== undefined) this.log.warn({ file: this.slot.file, err: err.code ?? err.message }, 'audit: removing old rotated files failed; they stay until the next rotation')
  }

  private drained (): void {
    if (this.#opened === undefined) return
    this.log.info(this.#opened, 'audit: chain opened')
    this.#opened = undefined
  }

  #flushShed (): void {
    this.#shedTimer = undefined
    const count = this.#shed
    this.#shed = 0
    if (count > 0) this.#append('shed', { count, status: 429, errorName: 'ThrottlingException' })
  }

  #recordRejections ({ groups, other, intervalMs }: RejectionInterval): void {
    const count = groups.reduce((n, g) => n + g.count, other)
    this.#append('rejected', { count, intervalMs, groups, ...(other > 0 && { other }) })
  }

  #append (type: string, fields: object): void {
    const offer = (line: string): boolean => this.writer.offer(line)
    // After drops, recording resumes once the buffer is half empty (not at the first record that fits, which
    // would alternate drops and notices), with a notice of how many were dropped just before the next record.
    if (this.#dropped > 0) {
      if (this.writer.bufferedBytes > this.maxBufferBytes / 2 || !this.chain.tryAppend('dropped', { count: this.#dropped }, offer)) { this.#drop(); return }
      this.#dropped = 0
    }
    if (!this.chain.tryAppend(type, fields, offer)) this.#drop()
  }

  #drop (): void {
    this.#dropped++
    this.#droppedTotal++
    this.#warn('drop', 'audit: buffer full, records dropped (the disk is slow or full); the chain records how many')
  }

  private writeFailed (err: NodeJS.ErrnoException): void {
    this.#writeErrors++
    this.#warn('write', `audit: writing ${this.slot.file} failed (${err.code ?? err.message}); retrying, records wait in memory`)
  }

  #warn (kind: 'drop' | 'write', msg: string): void {
    const now = Date.now()
    if (now - (this.#lastWarn.get(kind) ?? -Infinity) < WARN_INTERVAL_MS) return
    this.#lastWarn.set(kind, now)
    this.log.warn({ file: this.slot.file, dropped: this.#droppedTotal, writeErrors: this.#writeErrors, bufferedBytes: this.writer.bufferedBytes }, msg)
  }
}
