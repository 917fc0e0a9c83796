/**
 * Policy documents → compiled statements, once at load. Validation and compilation are one pass, so what the
 * proxy enforces is exactly what was checked; every problem names its JSON pointer, the statement's Sid and
 * the reason (`/Statement/1/Principal/0: statement AllowApps: "arn:aws:iam:123:role/x" is not an ARN glob …`).
 */
import { globMatcher, type Matcher } from './glob'
import { CONDITION_RULES, FIELD_RULES, type PolicyContext, type ValueRule } from './field-rules'
import { CONDITION_KEYS, KMS_OPERATIONS, XKS_OPERATIONS, STATEMENT_FIELDS, type AuthorizedOperation, type ConditionKey } from './vocabulary'

export type { PolicyContext } from './field-rules'

/** What decided a request: allowed or not, and the Sid of the deciding statement (or IMPLICIT_DENY). */
export interface PolicyDecision { readonly allowed: boolean, readonly sid: string }

export interface CompiledStatement {
  readonly sid: string
  readonly effect: 'Allow' | 'Deny'
  /** Absent: the statement does not constrain that field. */
  readonly principal?: Matcher
  readonly operations?: ReadonlySet<AuthorizedOperation>
  readonly kmsOperations?: ReadonlySet<string>
  readonly keys?: Matcher
  readonly conditions: ReadonlyArray<{ readonly key: ConditionKey, readonly match: Matcher }>
  /** Built once: deciding a request allocates nothing. */
  readonly decision: PolicyDecision
}

const MAX_STATEMENTS = 100
const MAX_VALUES = 100
const SID = /^[A-Za-z0-9]{1,64}$/
/** IAM words a statement might borrow, and what to write instead. */
const IAM_HINTS: Readonly<Record<string, string>> = {
  Action: 'use Operation (XKS operations) and KmsOperation (kmsOperation values)',
  Resource: 'use Key (external key ids)',
  NotPrincipal: 'negations are not supported: write a Deny statement',
  NotAction: 'negations are not supported: write a Deny statement',
  NotResource: 'negations are not supported: write a Deny statement',
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The statements of a valid document, or every problem found in it (pointers relative to the document). */
export function compilePolicy (input: unknown, ctx: PolicyContext): { statements: CompiledStatement[] } | { problems: string[] } {
  const problems: string[] = []
  if (!isObject(input)) return { problems: ['/: a policy is an object {"Statement": [...]}'] }
  for (const field of Object.keys(input)) if (field !== 'Statement' && field !== 'Version') problems.push(`/${field}: unknown field (a policy has Version and Statement)`)
  if (input.Version !== undefined && input.Version !== '1') problems.push('/Version: must be "1" when given')
  const list = input.Statement
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_STATEMENTS) {
    problems.push(`/Statement: must be an array of 1 to ${MAX_STATEMENTS} statements`)
    return { problems }
  }
  const sids = new Set<string>()
  const statements = list.map((raw, i) => compileStatement(raw, `/Statement/${i}`, ctx, sids, problems))
  return problems.length > 0 ? { problems } : { statements: statements as CompiledStatement[] }
}

function compileStatement (raw: unknown, at: string, ctx: PolicyContext, sids: Set<string>, problems: string[]): CompiledStatement | undefined {
  if (!isObject(raw)) {
    problems.push(`${at}: a statement is an object`)
    return undefined
  }
  const sid = typeof raw.Sid === 'string' ? raw.Sid : undefined
  const where = (field: string, msg: string): void => { problems.push(`${at}/${field}: statement ${sid ?? '(no Sid)'}: ${msg}`) }
  for (const field of Object.keys(raw)) {
    if (!(STATEMENT_FIELDS as readonly string[]).includes(field)) where(field, `unknown field${IAM_HINTS[field] !== undefined ? `: ${IAM_HINTS[field]}` : ''}`)
  }
  if (sid === undefined || !SID.test(sid)) where('Sid', 'required: 1-64 letters and digits, unique in the policy (logs and metrics name it)')
  else if (sids.has(sid)) where('Sid', `${sid} is used by another statement`)
  else sids.add(sid)
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') where('Effect', 'must be "Allow" or "Deny"')

  const values = (field: string, value: unknown, rule: ValueRule): string[] | undefined => {
    if (value === undefined) return undefined
    const items = typeof value === 'string' ? [value] : value
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_VALUES || !items.every(v => typeof v === 'string')) {
      where(field, `must be a string or an array of 1 to ${MAX_VALUES} strings`)
      return undefined
    }
    items.forEach((item: string, j) => {
      const problem = rule(item, ctx)
      if (problem !== undefined) where(typeof value === 'string' ? field : `${field}/${j}`, problem)
    })
    return items as string[]
  }
  const principals = values('Principal', raw.Principal, FIELD_RULES.Principal)
  const operations = values('Operation', raw.Operation, FIELD_RULES.Operation)
  const kmsOperations = values('KmsOperation', raw.KmsOperation, FIELD_RULES.KmsOperation)
  const keys = values('Key', raw.Key, FIELD_RULES.Key)
  const opSet = operations === undefined || operations.includes('*') ? undefined : new Set(operations.map(o => XKS_OPERATIONS.get(o)!).filter(Boolean))
  if (opSet !== undefined && kmsOperations !== undefined) {
    for (const k of kmsOperations) {
      const reaches = KMS_OPERATIONS.get(k)
      if (reaches !== undefined && !reaches.some(o => opSet.has(o))) where('KmsOperation', `${k} never arrives on ${operations!.join(', ')}`)
    }
  }

  const conditions: Array<{ key: ConditionKey, match: Matcher }> = []
  if (raw.Condition !== undefined) {
    if (!isObject(raw.Condition) || Object.keys(raw.Condition).length === 0) where('Condition', `must be an object with some of ${CONDITION_KEYS.join(', ')}`)
    else {
      for (const [key, value] of Object.entries(raw.Condition)) {
        if (!(CONDITION_KEYS as readonly string[]).includes(key)) {
          where(`Condition/${key}`, `unknown condition key: one of ${CONDITION_KEYS.join(', ')}`)
          continue
        }
        const patterns = values(`Condition/${key}`, value, CONDITION_RULES[key as ConditionKey])
        if (patterns !== undefined) conditions.push({ key: key as ConditionKey, match: globMatcher(patterns) })
      }
    }
  }
  if (sid === undefined) return undefined
  const effect = raw.Effect as 'Allow' | 'Deny'
  return {
    sid,
    effect,
    principal: principals === undefined ? undefined : globMatcher(principals),
    operations: opSet,
    kmsOperations: kmsOperations === undefined || kmsOperations.includes('*') ? undefined : new Set(kmsOperations),
    keys: keys === undefined ? undefined : globMatcher(keys),
    conditions,
    decision: Object.freeze({ allowed: effect === 'Allow', sid }),
  }
}
