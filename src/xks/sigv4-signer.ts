/**
 * Computes the expected SigV4 signature of an XKS request with the `aws4` package (spec digest §8.3, Tasks 1-3).
 *
 * aws4 is a client-side signer; used as is it would compute a different canonical request than §8.3 demands
 * for some inputs we must accept. Each difference and its workaround:
 * - Canonical URI: for every service but s3, aws4 collapses '//' runs, drops '.' segments, resolves '..' and
 *   percent-encodes each segment again ('%41' becomes '%2541'); `doNotEncodePath` only swaps the re-encoding for
 *   a decode + encode. §8.3 (and curl, which the official test client uses, e.g. with its '//kms/xks/v1' quirk
 *   of §3.2) sign the path exactly as received. We give aws4 the path '/', which it leaves alone, and splice the
 *   received path into its canonical request.
 * - Canonical headers: aws4 silently drops authorization, connection, expect, presigned-expires, range,
 *   user-agent and x-amzn-trace-id, even when the client signed them. We list every signed header in
 *   `extraHeadersToInclude`, which overrides that list.
 * - Added headers: without `doNotModifyHeaders` aws4 adds Content-Type/Content-Length to the signed set. With it,
 *   aws4 also stops reading X-Amz-Date, so we set `datetime` ourselves.
 * - Body: aws4 hashes `body`, or trusts an `x-amz-content-sha256` header. We always hash the raw bytes ourselves
 *   (one hash per request) and hand the digest over in that header, marked ignored unless the client signed it.
 * aws4 caches signing keys per (secret, date, region, service) in a module-wide LRU of 1000 entries, so the four
 * key-derivation HMACs run once per credential, day and region.
 * aws4 collapses any whitespace run in header values (as botocore does), where §8.3 speaks of spaces; values KMS
 * and curl sign never hold tabs, so this difference is accepted.
 */
import { RequestSigner, type Request } from 'aws4'
import { XKS_SERVICE } from './sigv4-parse'

/** The request fields aws4 reads but @types/aws4 does not declare. */
interface VerifierRequest extends Request {
  extraHeadersToInclude: Record<string, boolean>
  extraHeadersToIgnore: Record<string, boolean>
}

const BODY_HASH_HEADER = 'x-amz-content-sha256'
const IGNORE_BODY_HASH_HEADER: Record<string, boolean> = Object.freeze(Object.assign(Object.create(null), { [BODY_HASH_HEADER]: true }))

/** An aws4 signer whose canonical URI is the path as received (see above). */
class VerbatimPathSigner extends RequestSigner {
  constructor (request: VerifierRequest, secretAccessKey: string, private readonly canonicalUri: string) {
    super(request, { accessKeyId: '', secretAccessKey })
  }

  override canonicalString (): string {
    // aws4's canonical request starts with `${method}\n/\n` because it was given the path '/'.
    const method = this.request.method as string
    return method + '\n' + this.canonicalUri + super.canonicalString().slice(method.length + 2)
  }
}

export interface SignatureInput {
  method: string
  /** Starts with '/', printable ASCII without spaces (checked by the caller). */
  path: string
  /** The values of the signed headers, by lower-case name. */
  signedHeaderValues: Record<string, string>
  signedHeaders: readonly string[]
  /** Lower-case hex SHA-256 of the raw body. */
  bodyHash: string
  amzDate: string
  region: string
  secretAccessKey: string
}

/** The hex signature the client must have sent, were it holding `secretAccessKey`. */
export function expectedSignature (input: SignatureInput): string {
  const include: Record<string, boolean> = Object.create(null)
  for (const name of input.signedHeaders) include[name] = true
  const request: VerifierRequest = {
    method: input.method,
    path: '/',
    headers: { ...input.signedHeaderValues, [BODY_HASH_HEADER]: input.bodyHash },
    service: XKS_SERVICE,
    region: input.region,
    doNotModifyHeaders: true,
    extraHeadersToInclude: include,
    extraHeadersToIgnore: IGNORE_BODY_HASH_HEADER,
  }
  const signer = new VerbatimPathSigner(request, input.secretAccessKey, input.path)
  signer.datetime = input.amzDate
  return signer.signature()
}
