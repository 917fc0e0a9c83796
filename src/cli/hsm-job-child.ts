/**
 * The child process of src/cli/hsm-job.ts: loads the configuration, runs one job of ./hsm-jobs on the HSM, sends
 * the result (or the error as data) and exits. Its own PKCS#11 library state dies with it.
 */
import { ConfigError, loadConfig } from '../config/load'
import type { XksgateConfig } from '../config/schema'
import { applyModuleEnvironment } from '../hsm/module-environment'
import { StartupError } from '../runtime/exit'
import { HSM_CALLS_NEXT, type HsmJobReply } from './hsm-job'
import { HSM_JOBS, type HsmJobs } from './hsm-jobs'

interface JobRequest { name: keyof HsmJobs, input: never, file: string }

function asReply (err: unknown): HsmJobReply {
  if (err instanceof ConfigError) return { ok: false, kind: 'config', problems: err.problems }
  return { ok: false, kind: err instanceof StartupError ? 'startup' : 'other', message: err instanceof Error ? err.message : String(err) }
}

function reply (message: HsmJobReply): void {
  process.send?.(message, undefined, {}, () => process.disconnect())
}

process.once('message', ({ name, input, file }: JobRequest) => {
  let config: XksgateConfig
  try {
    config = loadConfig({ file, env: process.env })
  } catch (err) {
    return reply(asReply(err))
  }
  // Before the job loads a module (src/hsm/module-environment.ts); stderr is the command's.
  for (const overridden of applyModuleEnvironment(config.hsm)) {
    process.stderr.write(`xksgate: ${overridden.field} replaces the ${overridden.name} this command was started with\n`)
  }
  // The parent starts the HSM's deadline on this message; the job (synchronous PKCS#11 calls that may never
  // return) runs once it has been written.
  process.send?.(HSM_CALLS_NEXT, undefined, {}, () => {
    try {
      reply({ ok: true, result: HSM_JOBS[name](config, input) })
    } catch (err) {
      reply(asReply(err))
    }
  })
})
