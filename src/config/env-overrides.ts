/**
 * Environment overrides for any configuration field: XKSGATE__server__port=9443 sets /server/port. Values are
 * parsed as JSON when they parse (numbers, booleans, objects), otherwise taken as strings. Array elements are
 * addressed by index: XKSGATE__keyStores__0__name=prod.
 */
const PREFIX = 'XKSGATE__'

export function applyEnvOverrides (input: unknown, env: NodeJS.ProcessEnv): unknown {
  const root = structuredClone(input ?? {}) as Record<string, unknown>
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(PREFIX) || value === undefined) continue
    setPath(root, name.slice(PREFIX.length).split('__'), parseValue(value))
  }
  return root
}

function parseValue (value: string): unknown {
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}

function setPath (root: Record<string, unknown>, segments: string[], value: unknown): void {
  let node = root
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment]
    if (next === null || typeof next !== 'object') node[segment] = {}
    node = node[segment] as Record<string, unknown>
  }
  node[segments[segments.length - 1]] = value
}
