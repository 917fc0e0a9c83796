/**
 * The doctor's HSM lines (./hsm-checks.ts), run in a child process with a deadline (src/cli/hsm-job.ts): an HSM
 * that never answers, or a child that fails, becomes a FAIL line, never a hung or crashed command. `xksgate
 * doctor` and `xksgate config check --hsm` both read them.
 */
import { ConfigError } from '../../config/load'
import { runHsmJob, type HsmJobTarget } from '../hsm-job'
import type { Check } from './check'

export async function hsmLines (target: HsmJobTarget): Promise<Check[]> {
  try {
    return await runHsmJob('doctorChecks', {}, target)
  } catch (err) {
    return [{ name: 'HSM login', status: 'fail', detail: err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message }]
  }
}
