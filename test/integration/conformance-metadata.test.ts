/**
 * The 8 GetKeyMetadata cases of the official test client (test_get_key_metadata, docs/xks-spec.md §14), asserted more
 * strictly: exact status and errorName, and exactly the response fields of spec §GetKeyMetadata (docs/xks-spec.md §5.1).
 */
import t from 'tap'
import { EMPTY_METADATA, assertSuccess, credentialAndPrefixCases, pretty, testFailures, useDevServer } from '../helpers/conformance'
import { metadataFor } from '../helpers/xks-client'

const h = useDevServer(t, { curlStyle: true })

/** The client's body: DescribeKey or CreateKey, still with kmsKeyArn and kmsViaService (docs/xks-spec.md §16.2). */
const body = (kmsOperation: string): string => pretty({ requestMetadata: metadataFor(kmsOperation, { kmsViaService: 'ebs' }) })

for (const kmsOperation of ['DescribeKey', 'CreateKey']) {
  t.test(`GetKeyMetadata for ${kmsOperation}`, async t => {
    const res = await h.send({ path: h.keyPath(h.conn.keys.encryptDecrypt, 'metadata'), body: body(kmsOperation) })
    assertSuccess(t, res, ['keySpec', 'keyUsage', 'keyStatus'])
    t.equal(res.json.keySpec, 'AES_256')
    t.same(res.json.keyUsage, ['ENCRYPT', 'DECRYPT'], 'usage of an encrypt/decrypt key')
    t.equal(res.json.keyStatus, 'ENABLED')
    t.match(res.body, '"keyStatus":')
  })
}

const path = (): string => h.keyPath(h.conn.keys.encryptDecrypt, 'metadata')

testFailures(t, h, [
  { name: 'GetKeyMetadata without requestMetadata', request: () => ({ path: path(), body: '{}' }), status: 400, errorName: 'ValidationException' },
  { name: 'GetKeyMetadata with empty requestMetadata', request: () => ({ path: path(), body: EMPTY_METADATA }), status: 400, errorName: 'ValidationException' },
  {
    name: 'GetKeyMetadata for a non-existent key',
    request: () => ({ path: h.keyPath('non_existing_key', 'metadata'), body: body('DescribeKey') }),
    status: 404,
    errorName: 'KeyNotFoundException',
  },
  ...credentialAndPrefixCases(h, 'GetKeyMetadata', () => ({ path: path(), body: body('DescribeKey') })),
])
