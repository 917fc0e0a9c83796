/**
 * What each value of a statement field must look like. A value that breaks its rule could never match a request
 * (a malformed ARN glob, an operation KMS never sends, a key this key store does not have), so it is a load
 * error with a reason, never a statement that silently decides nothing.
 */
import { isGlob, globMatcher } from './glob'
import { HEALTH_KMS_OPERATIONS, KMS_OPERATIONS, XKS_OPERATIONS, type ConditionKey } from './vocabulary'

/** What the compiler knows about the key store a policy belongs to. */
export interface PolicyContext {
  /** The key store's external key ids. */
  keyIds: readonly string[]
  /** Its SigV4 region allow-list, when it has one. */
  allowedRegions?: readonly string[]
}

/** The reason `value` can never match, or undefined when it is fine. */
export type ValueRule = (value: string, ctx: PolicyContext) => string | undefined

const NO_SPACE = /^\S+$/
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/
const ARN_SEGMENTS: ReadonlyArray<[string, RegExp]> = [
  ['partition', /^[a-z*?-]+$/], ['service', /^[a-z0-9*?-]+$/], ['region', /^[a-z0-9*?-]*$/], ['account', /^(\d{12}|[0-9*?]*[*?][0-9*?]*|)$/],
]

/** arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, where a `*` in the last segment written may stand for the rest. */
export function arnGlobProblem (value: string): string | undefined {
  const parts = value.split(':')
  const what = `${JSON.stringify(value)} is not an ARN glob (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)`
  if (parts[0] !== 'arn' || !NO_SPACE.test(value)) return what
  if (parts.length < 6 && !parts[parts.length - 1].includes('*')) return `${what}: it has ${parts.length} of 6 segments`
  for (const [i, [name, rule]] of ARN_SEGMENTS.entries()) {
    const segment = parts[i + 1]
    if (segment !== undefined && !rule.test(segment)) return `${what}: bad ${name} ${JSON.stringify(segment)}`
  }
  if (parts.length >= 6 && parts.slice(5).join(':') === '') return `${what}: empty resource`
  return undefined
}

/** awsPrincipalArn: an ARN, a service principal (ec2.amazonaws.com) or "AWS Internal" (docs/xks-spec.md §4.1). */
const principal: ValueRule = value => {
  if (value === '*' || value === 'AWS Internal' || /^[a-z0-9*?.-]+\.amazonaws\.com(\.cn)?$/.test(value)) return undefined
  const problem = arnGlobProblem(value)
  return problem === undefined ? undefined : `${problem} (nor a service principal NAME.amazonaws.com, nor "AWS Internal")`
}

const operation: ValueRule = value => {
  if (value === '*' || XKS_OPERATIONS.has(value)) return undefined
  if (value === 'GetHealthStatus') return 'GetHealthStatus is never subject to policies (docs/xks-spec.md §10); leave it out'
  return `unknown XKS operation ${JSON.stringify(value)}: one of ${[...XKS_OPERATIONS.keys()].join(', ')}`
}

const kmsOperation: ValueRule = value => {
  if (value === '*' || KMS_OPERATIONS.has(value)) return undefined
  if (HEALTH_KMS_OPERATIONS.has(value)) return `${value} reaches only GetHealthStatus, which is never subject to policies (docs/xks-spec.md §10)`
  return `unknown kmsOperation ${JSON.stringify(value)}: one of ${[...KMS_OPERATIONS.keys()].join(', ')}`
}

const key: ValueRule = (value, ctx) => {
  if (!/^[A-Za-z0-9._*?-]{1,128}$/.test(value)) return `${JSON.stringify(value)} is not an external key id glob (1-128 of A-Z a-z 0-9 . _ - * ?)`
  const match = globMatcher([value])
  if (!ctx.keyIds.some(id => match(id))) return `${JSON.stringify(value)} names no key of this key store (${ctx.keyIds.join(', ')})`
  return undefined
}

const shaped = (pattern: RegExp, what: string): ValueRule => value =>
  pattern.test(value) ? undefined : `${JSON.stringify(value)} is not ${what}`

const region: ValueRule = (value, ctx) => {
  if (!/^[a-z0-9*?-]+$/.test(value) || (!isGlob(value) && !REGION.test(value))) return `${JSON.stringify(value)} is not a region (e.g. us-east-1) or region glob`
  const allowed = ctx.allowedRegions
  if (allowed !== undefined && !allowed.some(r => globMatcher([value])(r))) {
    return `${JSON.stringify(value)} never matches: the key store's allowedRegions are ${allowed.join(', ')}`
  }
  return undefined
}

export const FIELD_RULES = {
  Principal: principal,
  Operation: operation,
  KmsOperation: kmsOperation,
  Key: key,
} as const

export const CONDITION_RULES: Readonly<Record<ConditionKey, ValueRule>> = {
  ViaService: shaped(/^[A-Za-z0-9.*?-]+$/, 'a service name (e.g. ebs, s3) or glob'),
  SourceVpc: shaped(/^(\*|vpc-[0-9a-f*?]+)$/, 'a VPC id (vpc-…) or glob'),
  SourceVpce: shaped(/^(\*|vpce-[0-9a-f*?]+)$/, 'a VPC endpoint id (vpce-…) or glob'),
  Region: region,
  KeyArn: value => value === '*' ? undefined : arnGlobProblem(value),
}
