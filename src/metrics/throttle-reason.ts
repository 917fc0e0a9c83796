/**
 * Why a request got 429, as the `reason` label of xksgate_throttled_requests_total: `quota` (its key store's token
 * bucket), `overload` (this process's in-flight limit, or no room in the in-process replay table) or `deadline`
 * (it could not have finished within its budget: it arrived late, the HSM backlog was too long, or it was still
 * waiting for an HSM worker at its deadline). `detail` is the request log's internal cause.
 */
export type ThrottleReason = 'quota' | 'overload' | 'deadline'

const REASONS: ReadonlyMap<string, ThrottleReason> = new Map([
  ['quota', 'quota'],
  ['overload', 'overload'],
  ['replay cache full', 'overload'],
  ['late', 'deadline'],
  ['hsm backlog', 'deadline'],
  ['Overloaded', 'deadline'],
])

export function throttleReason (detail: string | undefined): ThrottleReason {
  return REASONS.get(detail ?? '') ?? 'overload'
}
