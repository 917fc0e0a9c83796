/**
 * The audit writer's close on a disk that keeps failing: it retries within its deadline, pausing between attempts
 * (100 ms), and returns by the deadline with the lines still buffered; it never retries back to back.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { AuditWriter } from '../../src/audit/writer'

t.test('close on a failing disk pauses between retries and ends by its deadline', async t => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xksgate-audit-writer-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const errors: string[] = []
  // A directory that does not exist: every open fails (ENOENT), as a removed or unmounted log directory does.
  const writer = new AuditWriter({ file: path.join(dir, 'missing', 'audit.log'), rotateBytes: 1 << 20, maxBufferBytes: 1 << 20, onError: err => { errors.push(err.code ?? '') } }, 0)
  t.ok(writer.offer('{"n":1}\n'))
  const started = Date.now()
  await writer.close(600)
  const ms = Date.now() - started
  t.ok(ms >= 500 && ms < 2000, `close returned by its deadline (${ms} ms)`)
  t.ok(errors.length >= 2, `it retried (${errors.length} attempts)`)
  // 600 ms with a 100 ms pause allows about 7 attempts; back to back it would be hundreds.
  t.ok(errors.length <= 10, `with a pause between attempts (${errors.length} in ${ms} ms)`)
  t.ok(errors.every(code => code === 'ENOENT'), 'each failure is the missing directory')
  t.ok(writer.bufferedBytes > 0, 'the line is still buffered, not lost silently')
})
