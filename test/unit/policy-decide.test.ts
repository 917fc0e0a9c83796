import t from 'tap'
import { compilePolicy } from '../../src/policy/compile'
import { CompiledPolicy } from '../../src/policy/policy'
import { globMatcher } from '../../src/policy/glob'
import type { RequestMetadata } from '../../src/xks/validate-metadata'

function policy (statements: unknown[]): CompiledPolicy {
  const compiled = compilePolicy({ Statement: statements }, { keyIds: ['foo', 'bar', 'payments-1'] })
  if ('problems' in compiled) throw new Error(compiled.problems.join('\n'))
  return new CompiledPolicy(compiled.statements)
}

const alice = 'arn:aws:iam::111122223333:role/app-alice'
const md = (extra: Partial<RequestMetadata> = {}): RequestMetadata => ({
  kmsRequestId: 'r', kmsOperation: 'Encrypt', awsPrincipalArn: alice, kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k', kmsViaService: 'ebs', ...extra,
})

t.test('globs: * spans any run (colons and slashes too), ? one character, the rest literal and case-sensitive', async t => {
  const m = globMatcher(['arn:aws:iam::*:role/app-?', 'exact.name', 'a+b(c)'])
  t.ok(m('arn:aws:iam::111122223333:role/app-1'))
  t.ok(m('arn:aws:iam::1:2:role/app-x'), '* crosses colons')
  t.notOk(m('arn:aws:iam::111122223333:role/app-12'), '? is one character')
  t.notOk(m('ARN:aws:iam::111122223333:role/app-1'), 'case-sensitive')
  t.ok(m('exact.name'))
  t.notOk(m('exactxname'), '. is literal')
  t.ok(m('a+b(c)'), 'regex characters are literal')
  t.notOk(m(undefined), 'an absent value never matches')
  t.ok(globMatcher(['*'])('anything'))
  t.notOk(globMatcher(['*'])(undefined), '* needs the field present')
  t.ok(globMatcher(['exact', 'gl*b'])('glob'))
})

t.test('with a policy, nothing matching means an implicit deny', async t => {
  const p = policy([{ Sid: 'OnlyBob', Effect: 'Allow', Principal: 'arn:aws:iam::111122223333:role/bob' }])
  t.same(p.decide('encrypt', 'foo', 'us-east-1', md()), { allowed: false, sid: 'implicit-deny' })
  t.same(p.decide('encrypt', 'foo', 'us-east-1', md({ awsPrincipalArn: 'arn:aws:iam::111122223333:role/bob' })), { allowed: true, sid: 'OnlyBob' })
})

t.test('an explicit Deny overrides any Allow, whatever the order', async t => {
  const p = policy([
    { Sid: 'Everyone', Effect: 'Allow' },
    { Sid: 'NoReEncrypt', Effect: 'Deny', KmsOperation: 'ReEncrypt' },
    { Sid: 'AliceToo', Effect: 'Allow', Principal: alice },
  ])
  t.same(p.decide('encrypt', 'foo', undefined, md({ kmsOperation: 'ReEncrypt' })), { allowed: false, sid: 'NoReEncrypt' })
  t.same(p.decide('encrypt', 'foo', undefined, md()), { allowed: true, sid: 'Everyone' }, 'the first matching Allow decides')
})

t.test('each field constrains: operation, kmsOperation, key, principal', async t => {
  const p = policy([{ Sid: 'Narrow', Effect: 'Allow', Principal: 'arn:aws:iam::111122223333:role/app-*', Operation: 'Encrypt', KmsOperation: ['Encrypt', 'GenerateDataKey'], Key: 'payments-*' }])
  const allowed = (op: 'metadata' | 'encrypt' | 'decrypt', key: string, m: RequestMetadata): boolean => p.decide(op, key, undefined, m).allowed
  t.ok(allowed('encrypt', 'payments-1', md()))
  t.ok(allowed('encrypt', 'payments-1', md({ kmsOperation: 'GenerateDataKey' })))
  t.notOk(allowed('decrypt', 'payments-1', md({ kmsOperation: 'Encrypt' })), 'operation')
  t.notOk(allowed('encrypt', 'payments-1', md({ kmsOperation: 'ReEncrypt' })), 'kmsOperation')
  t.notOk(allowed('encrypt', 'foo', md()), 'key')
  t.notOk(allowed('encrypt', 'payments-1', md({ awsPrincipalArn: 'arn:aws:iam::999999999999:role/app-x' })), 'principal')
  t.notOk(allowed('encrypt', 'payments-1', md({ awsPrincipalArn: undefined })), 'absent principal')
})

t.test('every condition key reads its own field, and an absent field never matches', async t => {
  const cases: Array<[string, string, (v: string | undefined) => RequestMetadata, string | undefined]> = [
    ['ViaService', 'ebs', v => md({ kmsViaService: v }), undefined],
    ['SourceVpc', 'vpc-0abc', v => md({ awsSourceVpc: v }), undefined],
    ['SourceVpce', 'vpce-0abc', v => md({ awsSourceVpce: v }), undefined],
    ['KeyArn', 'arn:aws:kms:us-east-1:111122223333:key/k', v => md({ kmsKeyArn: v }), undefined],
  ]
  for (const [key, value, withValue] of cases) {
    const p = policy([{ Sid: 'C', Effect: 'Allow', Condition: { [key]: value } }])
    t.ok(p.decide('encrypt', 'foo', 'us-east-1', withValue(value)).allowed, `${key} matches its value`)
    t.notOk(p.decide('encrypt', 'foo', 'us-east-1', withValue(value + '0')).allowed, `${key} refuses another value`)
    t.notOk(p.decide('encrypt', 'foo', 'us-east-1', withValue(undefined)).allowed, `${key} absent: no match (Allow)`)
    const deny = policy([{ Sid: 'All', Effect: 'Allow' }, { Sid: 'D', Effect: 'Deny', Condition: { [key]: value } }])
    t.same(deny.decide('encrypt', 'foo', 'us-east-1', withValue(value)), { allowed: false, sid: 'D' }, `${key} in a Deny denies`)
    t.same(deny.decide('encrypt', 'foo', 'us-east-1', withValue(undefined)), { allowed: true, sid: 'All' }, `${key} absent: the Deny does not match`)
  }
  const region = policy([{ Sid: 'R', Effect: 'Allow', Condition: { Region: 'us-*' } }])
  t.ok(region.decide('encrypt', 'foo', 'us-west-2', md()).allowed, 'Region reads the SigV4 scope region')
  t.notOk(region.decide('encrypt', 'foo', 'eu-west-1', md()).allowed)
  t.notOk(region.decide('encrypt', 'foo', undefined, md()).allowed)
})

t.test('conditions combine with AND, values within one with OR', async t => {
  const p = policy([{ Sid: 'Both', Effect: 'Allow', Condition: { ViaService: ['s3', 'ebs'], SourceVpce: 'vpce-1' } }])
  t.ok(p.decide('encrypt', 'foo', undefined, md({ kmsViaService: 's3', awsSourceVpce: 'vpce-1' })).allowed)
  t.notOk(p.decide('encrypt', 'foo', undefined, md({ kmsViaService: 's3' })).allowed)
  t.notOk(p.decide('encrypt', 'foo', undefined, md({ kmsViaService: 'rds', awsSourceVpce: 'vpce-1' })).allowed)
})
