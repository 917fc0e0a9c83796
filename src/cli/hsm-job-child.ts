/**
 * The child process of src/cli/hsm-job.ts: loads the configuration, runs one job of ./hsm-jobs on the HSM, sends
 * the result (or the error as data) and exits. Its own PKCS#11 library state dies with it.
 */
import { ConfigError, loadConfig } from '../config/load'
import { applyModuleEnvironment } from '../hsm/module-environment'
import { StartupError } from '../runtime/exit'
import type { HsmJobReply } from './hsm-job'
import { HSM_JOBS, type HsmJobs } from './hsm-jobs'

interface JobRequest { name: keyof HsmJobs, input: never, file: string }

function run ({ name, input, file }: JobRequest): HsmJobReply {
  try {
    const config = loadConfig({ file, env: process.env })
    // Before the job loads a module (src/hsm/module-environment.ts); stderr is the command's.
    for (const overridden of applyModuleEnvironment(config.hsm)) {
      process.stderr.write(`xksgate: ${overridden.field} replaces the ${overridden.name} this command was started with\n`)
    }
    return { ok: true, result: HSM_JOBS[name](config, input) }
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, kind: 'config', problems: err.problems }
    return { ok: false, kind: err instanceof StartupError ? 'startup' : 'other', message: err instanceof Error ? err.message : String(err) }
  }
}

process.once('message', (request: JobRequest) => {
  process.send?.(run(request), undefined, {}, () => process.disconnect())
})
