/**
 * The configuration schema: one typed object, every default in one place. `load.ts` validates a file against it
 * once at startup; nothing else reads raw configuration.
 */
import { hostname } from 'node:os'
import { Type, type Static } from '@sinclair/typebox'
import type { Secret } from './secret'
import { MAX_GCM_AAD_BYTES } from '../xks/gcm-aad'
import { SPEC_MIN_AAD_BYTES, SPEC_MIN_PLAINTEXT_BYTES } from '../xks/validate'

const strict = { additionalProperties: false } as const

/** A secret given inline, or (better) by reference to an environment variable or a file. */
export const SecretRef = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object({ env: Type.String({ minLength: 1 }) }, strict),
  Type.Object({ file: Type.String({ minLength: 1 }) }, strict),
], { description: 'a string, {"env": "VAR"} or {"file": "/path"}' })

const Credential = Type.Object({
  // KMS accepts only these (XksProxyAuthenticationCredentialType): docs/xks-spec.md §8.1.
  accessKeyId: Type.String({ pattern: '^[A-Z2-7]{20,30}$' }),
  secretAccessKey: SecretRef,
  /**
   * When the secret was issued (ISO 8601, e.g. "2026-03-01T00:00:00Z"), for the credential age metric. Absent: the
   * secret file's modification time, or no age for an inline or environment secret.
   */
  createdAt: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2}))?$' })),
}, strict)

const HsmLabel = Type.String({ minLength: 1, maxLength: 256 })
/** Key versions as ciphertextMetadata records them (src/xks/ciphertext-metadata.ts): 1 is the original key. */
const KeyVersion = Type.Integer({ minimum: 1, maximum: 65535 })

const ExternalKey = Type.Object({
  /** CKA_LABEL of the AES-256 key on the token that Encrypt uses: the key's newest version. */
  label: HsmLabel,
  /** The version number of `label`, recorded in every ciphertextMetadata it encrypts. Default 1. */
  version: Type.Optional(KeyVersion),
  /**
   * Other versions of this key that Decrypt still uses for ciphertexts recorded under them: older ones after a
   * rotation (until the operator retires them by removing them here), or a newer one staged on every host of a
   * fleet before it becomes `label` (docs/ciphertext-metadata.md).
   */
  decryptOnlyVersions: Type.Optional(Type.Array(Type.Object({ version: KeyVersion, label: HsmLabel }, strict), { maxItems: 64 })),
  /** Reported as keyStatus DISABLED; Encrypt/Decrypt answer InvalidStateException. Default false. */
  disabled: Type.Optional(Type.Boolean()),
  /**
   * The usages the key must allow, exactly (CKA_ENCRYPT, CKA_DECRYPT), checked at startup. Absent: at least one
   * of them. [] declares a key that can do neither, on purpose (the official test client's "impotent" key).
   */
  usage: Type.Optional(Type.Array(Type.Union([Type.Literal('ENCRYPT'), Type.Literal('DECRYPT')]), { uniqueItems: true })),
}, strict)

const KeyStore = Type.Object({
  /** A short name for logs and metrics. */
  name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
  /** The XksProxyUriPath configured in KMS, e.g. "/keystores/abc/kms/xks/v1". */
  uriPrefix: Type.String({ minLength: 10, maxLength: 128 }),
  /** Two or more during a rotation (spec §"Authentication"). */
  credentials: Type.Array(Credential, { minItems: 1, maxItems: 8 }),
  /** Optional allow-list of SigV4 scope regions; absent means any region. */
  allowedRegions: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' }), { minItems: 1 })),
  /** externalKeyId → key on the token. Ids follow KMS: 1-128 of [A-Za-z0-9._-]. */
  keys: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' }), ExternalKey),
  /**
   * Secondary authorization (docs/xks-spec.md §10): a policy document, inline or {"file": "path"}; checked by
   * src/policy/compile.ts with messages naming the statement. Absent: every authenticated request is allowed.
   */
  policy: Type.Optional(Type.Unknown()),
  /**
   * Token bucket for this key store, per host (each of its N serving processes holds rate/N and burst/N):
   * requests past it get 429 ThrottlingException before SigV4 or any HSM work. GetHealthStatus is exempt.
   */
  quota: Type.Optional(Type.Object({
    /** Requests per second, refilled continuously. */
    rate: Type.Number({ exclusiveMinimum: 0, maximum: 1000000 }),
    /** Requests that may arrive at once after a quiet spell. */
    burst: Type.Integer({ minimum: 1, maximum: 1000000 }),
  }, strict)),
}, strict)

/** Strict mTLS (node frontend only): the client certificate must chain to caFiles and name only allowed subjects. */
const ClientAuth = Type.Object({
  /** PEM files of the CAs KMS's client certificates chain to (Amazon's roots: /usr/share/ca-certificates/mozilla/Amazon_Root_CA_*.crt). */
  caFiles: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** DNS names a client certificate's CN and subjectAltNames may carry. Default: cks.kms.<region>.amazonaws.com for the key stores' allowedRegions. */
  allowedSubjects: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$' }), { minItems: 1 })),
}, strict)

const Tls = Type.Object({
  certFile: Type.String({ minLength: 1 }),
  keyFile: Type.String({ minLength: 1 }),
  clientAuth: Type.Optional(ClientAuth),
}, strict)

const Server = Type.Object({
  /** The HTTPS server carrying XKS: uWebSockets.js (fastest), or node:tls (narrowed TLS 1.3 suites, strict mTLS). */
  frontend: Type.Union([Type.Literal('uws'), Type.Literal('node')], { default: 'uws' }),
  host: Type.String({ default: '0.0.0.0' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8443 }),
  tls: Tls,
  /** Whole-request budget from the request head to the response. KMS itself gives up after 250 ms. */
  requestTimeoutMs: Type.Integer({ minimum: 10, maximum: 60000, default: 240 }),
  /** A client that has not sent its whole body by then is disconnected (slow-loris guard). */
  bodyTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  /** The largest valid request is about 32 KiB (11 KB AAD + 6 KB plaintext + three 2048-character ARNs). */
  maxBodyBytes: Type.Integer({ minimum: 32768, maximum: 1048576, default: 65536 }),
  /**
   * Requests in progress per process beyond which new ones get 429 ThrottlingException at once. Size it at about
   * a tenth of a second of the process's throughput: more in flight only queues work past KMS's 250 ms (under a
   * 2x overload, 1024 let HSM waits reach the 200 ms op timeout and answer 503s; 128 kept them to 429s).
   */
  maxInFlight: Type.Integer({ minimum: 1, maximum: 100000, default: 256 }),
}, strict)

/**
 * Environment variables a PKCS#11 module reads at C_Initialize: where it finds its configuration (SoftHSM's
 * SOFTHSM2_CONF, Luna's ChrystokiConfigurationPath, nShield's NFAST_HOME). Modules read them from the C
 * environment, and Node's `process.env` setter calls setenv, so src/hsm/module-environment.ts sets them in the
 * process before any thread loads a module; worker threads share that one environment, so backends must agree on
 * a variable (load.ts). Names are what a shell can export; the bounds keep a typo from growing the environment
 * without limit (32 variables and 4096 characters each: more than any vendor documents).
 */
const ModuleEnvironment = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }),
  // setenv cannot hold a NUL: the value would be cut short there.
  Type.String({ maxLength: 4096, pattern: '^[^\\u0000]*$' }),
  { maxProperties: 32, additionalProperties: false })

/** One HSM backend: a PKCS#11 module and a token on it, with its own worker threads and sessions. */
const HsmBackend = Type.Object({
  /** Names the backend in logs, metrics, /readyz and GetHealthStatus. Default: its tokenLabel. */
  name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
  modulePath: Type.String({ default: '/usr/lib/softhsm/libsofthsm2.so' }),
  tokenLabel: Type.String({ minLength: 1, maxLength: 32 }),
  pin: SecretRef,
  /** Set in the process's environment before the module is loaded (ModuleEnvironment). */
  environment: Type.Optional(ModuleEnvironment),
  /**
   * Worker threads, each with its own pinned sessions. 1 suits both kinds of HSM: where the calls are CPU work on
   * this host (SoftHSM-class) one thread got batches of ~6-10 operations and beat two on the 2-core VM, and where
   * they wait on a network one thread keeps many sessions busy at once (README "Processes, threads, sessions:
   * sizing"). More threads only help an HSM whose client library is CPU work, on a host with cores to spare.
   */
  threads: Type.Integer({ minimum: 1, maximum: 256, default: 1 }),
  /** Sessions each thread opens at start; more open as the concurrency grows, up to maxSessions. */
  sessionsPerThread: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  /**
   * The most sessions this process opens on the HSM, and so the most operations it has there at once. The
   * concurrency in use adapts to the HSM's latency below this and below the token's own ulMaxSessionCount
   * (CloudHSM allows 1,024 sessions per application, shared by every process of the fleet on one host), and to
   * libuv's thread pool (UV_THREADPOOL_SIZE, which the proxy sets to 64 when the environment does not).
   */
  maxSessions: Type.Integer({ minimum: 1, maximum: 1024, default: 64 }),
  /** Where IVs come from: Node's CSPRNG, or C_GenerateRandom on the HSM. */
  ivSource: Type.Union([Type.Literal('random'), Type.Literal('hsm-random')], { default: 'random' }),
  /** Most operations sent to a worker thread in one message. */
  maxBatch: Type.Integer({ minimum: 1, maximum: 1024, default: 32 }),
  /**
   * An HSM operation that takes longer answers DependencyTimeoutException. With several backends it bounds each
   * attempt, and the request's own budget (server.requestTimeoutMs) bounds the attempt plus its retry.
   */
  opTimeoutMs: Type.Integer({ minimum: 10, maximum: 60000, default: 200 }),
  /**
   * How long the worker threads may take to load the module, open their sessions and log in. Past it the start
   * fails (exit 1, the supervisor restarts), even when the module never answers at all.
   */
  startTimeoutMs: Type.Integer({ minimum: 500, maximum: 600000, default: 30000 }),
  /**
   * With several backends: an operation on this backend still unanswered after the backend's recent p95 latency
   * is sent to another backend as well, and the first answer wins (src/hsm/router.ts). Off by default: it costs
   * about 5% more HSM operations.
   */
  hedge: Type.Boolean({ default: false }),
}, strict)

/**
 * The HSM backends, holding the same keys under the same labels; one object is a list of one. load.ts turns an
 * object into that list before the schema check, so this is the one shape the rest of the code sees.
 */
const Hsm = Type.Array(HsmBackend, { minItems: 1, maxItems: 16 })

const Health = Type.Object({
  /** A dedicated test key: the deep check never touches customer keys (spec §GetHealthStatus). */
  keyLabel: Type.String({ minLength: 1 }),
  /** How often the background deep check runs; the spec allows a cached result of at most 60 s. */
  intervalMs: Type.Integer({ minimum: 1000, maximum: 60000, default: 15000 }),
  /** A successful check slower than this reports DEGRADED. */
  degradedLatencyMs: Type.Integer({ minimum: 1, maximum: 60000, default: 100 }),
  proxyVendor: Type.String({ default: 'xksgate' }),
  /** Defaults to "xksgate <version>". */
  proxyModel: Type.Optional(Type.String({ minLength: 1 })),
  /** Defaults to the token's manufacturer id. */
  ekmVendor: Type.Optional(Type.String({ minLength: 1 })),
}, strict)

const Limits = Type.Object({
  /** Larger plaintext/ciphertext gets 501; the spec requires at least 4300 bytes. */
  maxPlaintextBytes: Type.Integer({ minimum: SPEC_MIN_PLAINTEXT_BYTES, maximum: 65536, default: 8192 }),
  /** Larger AAD gets 501; the spec requires at least 8192 bytes; the u16 length prefix caps it at 65535. */
  maxAadBytes: Type.Integer({ minimum: SPEC_MIN_AAD_BYTES, maximum: MAX_GCM_AAD_BYTES, default: 16384 }),
}, strict)

const Auth = Type.Object({
  /** Spec: requests more than 5 minutes old or ahead SHOULD fail. */
  maxSkewSeconds: Type.Integer({ minimum: 1, maximum: 900, default: 300 }),
}, strict)

const Log = Type.Object({
  level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' }),
}, strict)

const HostPort = Type.Object({ host: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) }, strict)

/** Shared Redis for the replay cache and the fleet registry. Absent: in-memory replay cache, fleet of one. */
const Redis = Type.Object({
  mode: Type.Union([Type.Literal('standalone'), Type.Literal('sentinel'), Type.Literal('cluster')], { default: 'standalone' }),
  /** standalone: `redis://host:port/db` or `rediss://` (TLS). */
  url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** sentinel: a few sentinels and the master group name. */
  sentinels: Type.Optional(Type.Array(HostPort, { minItems: 1 })),
  name: Type.Optional(Type.String({ minLength: 1 })),
  /** cluster: a few seed nodes. */
  nodes: Type.Optional(Type.Array(HostPort, { minItems: 1 })),
  /** true = TLS with the system CAs; an object names a CA file, SNI name, or (tests only) no verification. */
  tls: Type.Optional(Type.Union([Type.Boolean(), Type.Object({
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    servername: Type.Optional(Type.String({ minLength: 1 })),
    rejectUnauthorized: Type.Optional(Type.Boolean()),
  }, strict)])),
  username: Type.Optional(Type.String({ minLength: 1 })),
  password: Type.Optional(SecretRef),
  connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),
}, strict)

const Replay = Type.Object({
  /** Redis unreachable: serve with the in-process cache (and warn), or answer 503 DependencyTimeoutException. */
  failurePolicy: Type.Union([Type.Literal('fail-open-local'), Type.Literal('fail-closed')], { default: 'fail-open-local' }),
  /** Budget of one Redis call on the request path; KMS gives the whole request 250 ms. */
  commandTimeoutMs: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  /**
   * Live signatures the in-process cache holds (20 bytes each, allocated at startup). Default: KMS's quota of
   * 1,800 req/s × (2 × auth.maxSkewSeconds + 1) s × key stores, so no live signature is ever dropped; past it,
   * requests get 429 rather than an unrecorded signature.
   */
  maxLocalEntries: Type.Optional(Type.Integer({ minimum: 1000, maximum: 100000000 })),
  /**
   * Several serving processes on one host without Redis cannot see each other's signatures: a replay sent to a
   * sibling process would be accepted. Such a layout refuses to start unless this is true.
   */
  allowProcessLocal: Type.Boolean({ default: false }),
  keyPrefix: Type.String({ minLength: 1, maxLength: 64, default: 'xksgate:replay:' }),
}, strict)

const Fleet = Type.Object({
  /**
   * What counts as one proxy in xksProxyFleetSize. Default: the host name, so all processes of a host count once
   * (KMS reads the fleet size as proxies, not as processes on them).
   */
  instanceId: Type.String({ minLength: 1, maxLength: 200, default: hostname() }),
  heartbeatMs: Type.Integer({ minimum: 500, maximum: 60000, default: 5000 }),
  keyPrefix: Type.String({ minLength: 1, maxLength: 64, default: 'xksgate:' }),
}, strict)

const Cluster = Type.Object({
  /**
   * Serving processes; 0 = one per core. 1 (the default) serves in the starting process itself, which is also
   * what each PM2 fork-mode instance runs. More than one on a host needs Redis for the replay cache.
   */
  processes: Type.Integer({ minimum: 0, maximum: 1024, default: 1 }),
  /** A crashed process is replaced after a delay that doubles from min to max while crashes keep coming. */
  restartMinMs: Type.Integer({ minimum: 10, maximum: 60000, default: 100 }),
  restartMaxMs: Type.Integer({ minimum: 10, maximum: 600000, default: 10000 }),
  /** A serving process not ready this long after its fork is stopped: a failed start, or a failed reload. */
  readyTimeoutMs: Type.Integer({ minimum: 1000, maximum: 600000, default: 60000 }),
}, strict)

const Shutdown = Type.Object({
  /** After SIGTERM, /readyz answers 503 this long while still serving, so a load balancer can notice first. */
  graceMs: Type.Integer({ minimum: 0, maximum: 120000, default: 0 }),
  /** Longest wait for requests in progress once the listener is closed. */
  drainMs: Type.Integer({ minimum: 0, maximum: 120000, default: 10000 }),
  /**
   * Once the listener is closed, keep serving this long: a keep-alive client sending its next request gets its
   * answer with Connection: close and reconnects to another process, instead of finding its socket closed.
   */
  lingerMs: Type.Integer({ minimum: 0, maximum: 60000, default: 1000 }),
}, strict)

const Metrics = Type.Object({
  /** Plain-HTTP Prometheus endpoint (GET /metrics); never served on the TLS port. null disables it. */
  port: Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()], { default: 9464 }),
  host: Type.String({ default: '127.0.0.1' }),
}, strict)

const HealthPort = Type.Object({
  /** Optional plain-HTTP port serving GET /ping and /readyz for NLB target-group health checks. */
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  host: Type.String({ default: '0.0.0.0' }),
}, strict)

const Audit = Type.Object({
  /**
   * The tamper-evident audit log (src/audit/): one JSON line per request, chained by HMAC-SHA256. Each serving
   * process writes its own chain: the first this file, the next `<file>.1` and so on; rotated files get a suffix.
   */
  file: Type.String({ minLength: 1 }),
  /** The HMAC key, at least 32 characters; whoever holds it can verify the log, and could rewrite it. */
  key: SecretRef,
  /** The file is rotated once it holds this many bytes. */
  rotateBytes: Type.Integer({ minimum: 4096, maximum: 1099511627776, default: 67108864 }),
  /** Records waiting for the disk beyond this many bytes are dropped and counted (the chain says how many). */
  maxBufferBytes: Type.Integer({ minimum: 65536, maximum: 1073741824, default: 16777216 }),
  /** Rotated files kept beyond the current one; older ones are removed at each rotation. None: all are kept. */
  keepFiles: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000000 })),
  /** Rotated files kept up to this many bytes together (the newest always kept). None: all are kept. */
  keepBytes: Type.Optional(Type.Integer({ minimum: 4096, maximum: 1125899906842624 })),
}, strict)

export const ConfigSchema = Type.Object({
  server: Server,
  hsm: Hsm,
  health: Health,
  limits: Type.Object(Limits.properties, { ...strict, default: {} }),
  auth: Type.Object(Auth.properties, { ...strict, default: {} }),
  log: Type.Object(Log.properties, { ...strict, default: {} }),
  redis: Type.Optional(Redis),
  replay: Type.Object(Replay.properties, { ...strict, default: {} }),
  fleet: Type.Object(Fleet.properties, { ...strict, default: {} }),
  cluster: Type.Object(Cluster.properties, { ...strict, default: {} }),
  shutdown: Type.Object(Shutdown.properties, { ...strict, default: {} }),
  metrics: Type.Object(Metrics.properties, { ...strict, default: {} }),
  healthPort: Type.Object(HealthPort.properties, { ...strict, default: {} }),
  audit: Type.Optional(Audit),
  keyStores: Type.Array(KeyStore, { minItems: 1 }),
}, strict)

/** The configuration as written in the file (secrets may still be references). */
export type RawConfig = Static<typeof ConfigSchema>
export type SecretRefValue = Static<typeof SecretRef>

/** Credentials with their secrets resolved. */
export interface ResolvedCredential {
  accessKeyId: string
  secretAccessKey: Secret
  /** From createdAt, else the secret file's modification time; undefined when neither is known. */
  createdAtMs?: number
}
export interface ResolvedKeyStore extends Omit<RawConfig['keyStores'][number], 'credentials'> {
  credentials: ResolvedCredential[]
}

/** The redis section with its password resolved and its CA file read. */
export interface ResolvedRedis extends Omit<NonNullable<RawConfig['redis']>, 'password' | 'tls'> {
  password?: Secret
  tls?: boolean | { ca?: string, servername?: string, rejectUnauthorized?: boolean }
}

/** The audit section with its file made absolute and its key resolved. */
export interface ResolvedAudit extends Omit<NonNullable<RawConfig['audit']>, 'key'> {
  key: Secret
}

/** One HSM backend, its PIN resolved. */
export interface ResolvedHsmBackend extends Omit<RawConfig['hsm'][number], 'pin' | 'name'> {
  name: string
  pin: Secret
  /** Where it is in the file (`/hsm` for a single object, `/hsm/1` in a list), for messages naming a field. */
  field: string
}

/** The validated, resolved, frozen configuration every module receives. */
export interface XksgateConfig {
  readonly server: RawConfig['server']
  readonly hsm: readonly ResolvedHsmBackend[]
  readonly health: RawConfig['health']
  readonly limits: RawConfig['limits']
  readonly auth: RawConfig['auth']
  readonly log: RawConfig['log']
  readonly redis?: ResolvedRedis
  readonly replay: RawConfig['replay']
  readonly fleet: RawConfig['fleet']
  readonly cluster: RawConfig['cluster']
  readonly shutdown: RawConfig['shutdown']
  readonly metrics: RawConfig['metrics']
  readonly healthPort: RawConfig['healthPort']
  readonly audit?: ResolvedAudit
  readonly keyStores: readonly ResolvedKeyStore[]
}
