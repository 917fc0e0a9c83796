/** One line of `xksgate doctor`. */
export interface Check {
  name: string
  /** unknown: the host cannot tell (e.g. no timedatectl); it does not fail the verdict. */
  status: 'ok' | 'warn' | 'fail' | 'unknown'
  detail: string
}
