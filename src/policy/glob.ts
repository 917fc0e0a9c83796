/**
 * Glob lists, compiled once into one matcher: `*` is any run of characters (`/` and `:` included, as in IAM's
 * StringLike), `?` any one character, everything else literal and case-sensitive. Exact names go into a Set and
 * the globs into one anchored RegExp, so a check is a hash lookup or one regex test, whatever the list's length.
 */

/** True when `value` is present and matches. An absent request field never matches (docs/authorization.md "Secondary authorization": a missing field matches nothing). */
export type Matcher = (value: string | undefined) => boolean

export const isGlob = (pattern: string): boolean => pattern.includes('*') || pattern.includes('?')

function globSource (pattern: string): string {
  return pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
}

export function globMatcher (patterns: readonly string[]): Matcher {
  if (patterns.includes('*')) return value => value !== undefined
  const exact = new Set(patterns.filter(p => !isGlob(p)))
  const globs = patterns.filter(isGlob)
  if (globs.length === 0) return value => value !== undefined && exact.has(value)
  const regex = new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 's')
  if (exact.size === 0) return value => value !== undefined && regex.test(value)
  return value => value !== undefined && (exact.has(value) || regex.test(value))
}
