/**
 * The 6 GetHealthStatus cases of the official test client (test_get_health_status, docs/xks-spec.md §14), asserted more
 * strictly: exact status and errorName, and the response fields of spec §GetHealthStatus (docs/xks-spec.md §5.4).
 */
import t from 'tap'
import { EMPTY_METADATA, assertSuccess, credentialAndPrefixCases, pretty, testFailures, useDevServer } from '../helpers/conformance'

const h = useDevServer(t, { curlStyle: true })

/** The client's health body: kmsOperation and kmsRequestId only, pretty-printed. */
const healthBody = (): string => pretty({ requestMetadata: { kmsOperation: 'KmsHealthCheck', kmsRequestId: crypto.randomUUID() } })

t.test('GetHealthStatus', async t => {
  const res = await h.send({ path: h.healthPath, body: healthBody() })
  t.match(res.sentHeaders.Authorization, /SignedHeaders=content-type;host;x-amz-date,/, 'signed like curl --aws-sigv4')
  assertSuccess(t, res, ['xksProxyFleetSize', 'xksProxyVendor', 'xksProxyModel', 'ekmVendor', 'ekmFleetDetails'])
  const { xksProxyFleetSize, ekmFleetDetails } = res.json
  t.ok(Number.isInteger(xksProxyFleetSize) && Number(xksProxyFleetSize) > 0, 'xksProxyFleetSize is an integer > 0')
  for (const field of ['xksProxyVendor', 'xksProxyModel', 'ekmVendor']) {
    t.ok(typeof res.json[field] === 'string' && res.json[field] !== '', `${field} is a non-empty string`)
  }
  t.ok(Array.isArray(ekmFleetDetails), 'ekmFleetDetails is an array')
  const details = ekmFleetDetails as Array<Record<string, unknown>>
  t.ok(details.length >= 1 && details.length <= 10, 'ekmFleetDetails has 1 to 10 entries')
  for (const entry of details) {
    t.same(Object.keys(entry).sort(), ['healthStatus', 'id', 'model'], 'entry has exactly id, model, healthStatus')
    t.type(entry.id, 'string')
    t.type(entry.model, 'string')
    t.ok(['ACTIVE', 'DEGRADED', 'UNAVAILABLE'].includes(String(entry.healthStatus)), 'healthStatus is ACTIVE|DEGRADED|UNAVAILABLE')
  }
  t.equal(new Set(details.map(d => d.id)).size, details.length, 'entry ids are unique')
  // The test client looks for this string in curl's output; it only matches compact JSON.
  t.match(res.body, '"healthStatus":')
})

testFailures(t, h, [
  {
    name: 'GetHealthStatus without requestMetadata',
    request: () => ({ path: h.healthPath, body: '{}' }),
    status: 400,
    errorName: 'ValidationException',
  },
  {
    name: 'GetHealthStatus with empty requestMetadata',
    request: () => ({ path: h.healthPath, body: EMPTY_METADATA }),
    status: 400,
    errorName: 'ValidationException',
  },
  ...credentialAndPrefixCases(h, 'GetHealthStatus', () => ({ path: h.healthPath, body: healthBody() })),
])
