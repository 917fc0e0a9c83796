import t from 'tap'
import { compilePolicy, type PolicyContext } from '../../src/policy/compile'

const ctx: PolicyContext = { keyIds: ['foo', 'payments-1', 'payments-2'], allowedRegions: ['us-east-1', 'eu-west-1'] }
const allow = (extra: Record<string, unknown>): unknown => ({ Statement: [{ Sid: 'S1', Effect: 'Allow', ...extra }] })
const problems = (doc: unknown): string[] => {
  const compiled = compilePolicy(doc, ctx)
  return 'problems' in compiled ? compiled.problems : []
}

t.test('a valid policy compiles, with strings or arrays for every field', async t => {
  const compiled = compilePolicy({
    Version: '1',
    Statement: [
      { Sid: 'Apps', Effect: 'Allow', Principal: ['arn:aws:iam::111122223333:role/app-*', 'ec2.amazonaws.com', 'AWS Internal'], Operation: ['Encrypt', 'Decrypt'], Key: 'payments-*', Condition: { ViaService: ['s3', 'ebs'], SourceVpc: 'vpc-0abc', SourceVpce: 'vpce-*', Region: 'us-east-1', KeyArn: 'arn:aws:kms:*:111122223333:*' } },
      { Sid: 'NoReEncrypt', Effect: 'Deny', KmsOperation: 'ReEncrypt' },
      { Sid: 'Anyone', Effect: 'Allow', Principal: '*', Operation: '*', KmsOperation: '*', Key: '*' },
    ],
  }, ctx)
  t.notOk('problems' in compiled, JSON.stringify(compiled))
  if ('statements' in compiled) t.same(compiled.statements.map(s => [s.sid, s.effect]), [['Apps', 'Allow'], ['NoReEncrypt', 'Deny'], ['Anyone', 'Allow']])
})

t.test('the document itself: shape, Version, Statement', async t => {
  t.same(problems(null), ['/: a policy is an object {"Statement": [...]}'])
  t.same(problems({ Statement: [] }), ['/Statement: must be an array of 1 to 100 statements'])
  t.same(problems({ Statements: [{}] }), ['/Statements: unknown field (a policy has Version and Statement)', '/Statement: must be an array of 1 to 100 statements'])
  t.match(problems({ Version: '2012-10-17', Statement: [{ Sid: 'A', Effect: 'Allow' }] }), ['/Version: must be "1" when given'])
  t.same(problems({ Statement: ['x'] }), ['/Statement/0: a statement is an object'])
})

t.test('Sid and Effect: required, Sids unique and alphanumeric', async t => {
  t.match(problems({ Statement: [{ Effect: 'Allow' }] }), ['/Statement/0/Sid: statement (no Sid): required'])
  t.match(problems({ Statement: [{ Sid: 'implicit-deny', Effect: 'Allow' }] }), [/\/Statement\/0\/Sid: .*letters and digits/])
  t.match(problems({ Statement: [{ Sid: 'A', Effect: 'Allow' }, { Sid: 'A', Effect: 'Deny' }] }), ['/Statement/1/Sid: statement A: A is used by another statement'])
  t.match(problems(allow({ Effect: 'allow' })), ['/Statement/0/Effect: statement S1: must be "Allow" or "Deny"'])
})

t.test('unknown fields are errors, with a hint for IAM words', async t => {
  t.match(problems(allow({ Action: 'kms:Encrypt' })), ['/Statement/0/Action: statement S1: unknown field: use Operation (XKS operations) and KmsOperation (kmsOperation values)'])
  t.match(problems(allow({ Resource: '*' })), [/Resource: statement S1: unknown field: use Key/])
  t.match(problems(allow({ NotPrincipal: '*' })), [/NotPrincipal: .*write a Deny statement/])
  t.match(problems(allow({ Colour: 'red' })), ['/Statement/0/Colour: statement S1: unknown field'])
})

t.test('a malformed ARN glob names the statement, the field and the position', async t => {
  t.match(problems(allow({ Principal: ['arn:aws:iam::111122223333:role/a', 'arn:aws:iam:123:role/x'] })),
    [/^\/Statement\/0\/Principal\/1: statement S1: "arn:aws:iam:123:role\/x" is not an ARN glob .*: it has 5 of 6 segments \(nor a service principal/])
  t.match(problems(allow({ Principal: 'arn:aws:iam::1234:role/x' })), [/Principal: .*bad account "1234"/])
  t.match(problems(allow({ Principal: 'role/x' })), [/Principal: .*is not an ARN glob/])
  t.match(problems(allow({ Principal: 'arn:aws:iam::111122223333:' })), [/empty resource/])
  t.match(problems(allow({ Principal: 'arn:aws:iam::111122223333:role/a b' })), [/not an ARN glob/])
  t.same(problems(allow({ Principal: 'arn:aws:*' })), [], 'a trailing * may stand for the remaining segments')
  t.match(problems(allow({ Condition: { KeyArn: 'arn:aws:kms:us-east-1' } })), [/Condition\/KeyArn: .*4 of 6 segments$/])
})

t.test('operations: unknown names, GetHealthStatus and combinations that never arrive are errors', async t => {
  t.match(problems(allow({ Operation: 'Encrypts' })), [/Operation: statement S1: unknown XKS operation "Encrypts": one of GetKeyMetadata, Encrypt, Decrypt/])
  t.match(problems(allow({ Operation: 'GetHealthStatus' })), [/GetHealthStatus is never subject to policies/])
  t.match(problems(allow({ KmsOperation: 'KmsHealthCheck' })), [/KmsHealthCheck reaches only GetHealthStatus/])
  t.match(problems(allow({ KmsOperation: ['Encrypt', 'BulkEncrypt'] })), [/KmsOperation\/1: .*unknown kmsOperation "BulkEncrypt"/])
  t.match(problems(allow({ Operation: 'Decrypt', KmsOperation: 'GenerateDataKey' })), [/KmsOperation: statement S1: GenerateDataKey never arrives on Decrypt/])
  t.same(problems(allow({ Operation: 'Decrypt', KmsOperation: 'ReEncrypt' })), [], 'ReEncrypt reaches Decrypt (its source key)')
})

t.test('keys: a key id or glob that names no key of the store is an error', async t => {
  t.match(problems(allow({ Key: 'bar' })), [/Key: statement S1: "bar" names no key of this key store \(foo, payments-1, payments-2\)/])
  t.match(problems(allow({ Key: 'ledger-*' })), [/names no key/])
  t.match(problems(allow({ Key: 'a/b' })), [/is not an external key id glob/])
  t.same(problems(allow({ Key: ['foo', 'payments-?'] })), [])
})

t.test('conditions: known keys, well-formed values, regions the store accepts', async t => {
  t.match(problems(allow({ Condition: { SourceIp: '10.0.0.1' } })), [/Condition\/SourceIp: .*unknown condition key: one of ViaService, SourceVpc, SourceVpce, Region, KeyArn/])
  t.match(problems(allow({ Condition: {} })), [/Condition: .*must be an object/])
  t.match(problems(allow({ Condition: { SourceVpce: 'vpc-123' } })), [/SourceVpce: .*"vpc-123" is not a VPC endpoint id/])
  t.match(problems(allow({ Condition: { SourceVpc: 'vpce-123' } })), [/SourceVpc: .*is not a VPC id/])
  t.match(problems(allow({ Condition: { Region: 'mars-1' } })), [/Region: .*is not a region/])
  t.match(problems(allow({ Condition: { Region: 'ap-south-1' } })), [/never matches: the key store's allowedRegions are us-east-1, eu-west-1/])
  t.match(problems(allow({ Condition: { ViaService: 'e b s' } })), [/ViaService: .*is not a service name/])
  t.match(problems(allow({ Condition: { ViaService: [] } })), [/ViaService: .*must be a string or an array of 1 to 100 strings/])
  t.match(problems(allow({ Principal: [1] })), [/Principal: .*must be a string or an array/])
})

t.test('every problem is reported at once', async t => {
  const found = problems({ Statement: [{ Sid: 'A', Effect: 'Allow', Key: 'nope', Operation: 'x' }, { Sid: 'B', Effect: 'Maybe' }] })
  t.equal(found.length, 3, found.join('\n'))
})
