/**
 * `hsm[].environment`: the variables a PKCS#11 module reads at C_Initialize (SoftHSM's SOFTHSM2_CONF, a vendor's
 * configuration path), set from the configuration so that no one has to export them before a command.
 *
 * Modules read them from the C environment. Node's `process.env` setter calls setenv, and worker threads share
 * the process's one environment, so this runs in each process that loads a module — the serving process
 * (src/runtime/hsm-backends.ts) and the operator commands' HSM child (src/cli/hsm-job-child.ts) — before any
 * thread loads one. Backends agree on every variable they both set (a load.ts cross-field check).
 */
import type { ResolvedHsmBackend } from '../config/schema'

/** A variable the configuration set over a different value the process already had: its name and field. */
export interface OverriddenVariable {
  name: string
  field: string
}

/**
 * Sets every backend's `environment` in `env` (the process's by default). The configuration wins over a value
 * already there, which the caller reports by name only: a vendor's variable may point at something sensitive.
 */
export function applyModuleEnvironment (backends: ReadonlyArray<Pick<ResolvedHsmBackend, 'environment' | 'field'>>, env: NodeJS.ProcessEnv = process.env): OverriddenVariable[] {
  const overridden: OverriddenVariable[] = []
  for (const backend of backends) {
    for (const [name, value] of Object.entries(backend.environment ?? {})) {
      const before = env[name]
      if (before === value) continue
      if (before !== undefined && !overridden.some(o => o.name === name)) overridden.push({ name, field: `${backend.field}/environment/${name}` })
      env[name] = value
    }
  }
  return overridden
}

/** Two backends setting one variable to different values: one problem per later field, naming the first. */
export function moduleEnvironmentProblems (backends: ReadonlyArray<Pick<ResolvedHsmBackend, 'environment' | 'field'>>): string[] {
  const problems: string[] = []
  const first = new Map<string, { field: string, value: string }>()
  for (const backend of backends) {
    for (const [name, value] of Object.entries(backend.environment ?? {})) {
      const field = `${backend.field}/environment/${name}`
      const earlier = first.get(name)
      if (earlier === undefined) first.set(name, { field, value })
      else if (earlier.value !== value) {
        problems.push(`${field}: differs from ${earlier.field}; a process has one environment, so backends that set the same variable must set it to the same value`)
      }
    }
  }
  return problems
}
