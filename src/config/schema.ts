/**
 * The configuration schema: one typed object, every default in one place. `load.ts` validates a file against it
 * once at startup; nothing else reads raw configuration.
 */
import { hostname } from 'node:os'
import { Type, type Static, type TProperties } from '@sinclair/typebox'
import type { Secret } from './secret'
import { MAX_GCM_AAD_BYTES } from '../xks/gcm-aad'
import { SPEC_MIN_AAD_BYTES, SPEC_MIN_PLAINTEXT_BYTES } from '../xks/validate'

const strict = { additionalProperties: false } as const

/*
 * Every field carries its `description`: docs/configuration.md is generated from this schema (src/docs/), and a
 * test fails when the page and the schema disagree. Comments here say why a bound or default is what it is.
 */

/** A secret given inline, or (better) by reference to an environment variable or a file. */
export const SecretRef = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object({ env: Type.String({ minLength: 1 }) }, strict),
  Type.Object({ file: Type.String({ minLength: 1 }) }, strict),
], { description: 'a string, {"env": "VAR"} or {"file": "/path"}' })

/** A secret field: the secret reference, with the field's own description. */
const secretField = (description: string): typeof SecretRef => Type.Union(SecretRef.anyOf, { description })

const Credential = Type.Object({
  // KMS accepts only these (XksProxyAuthenticationCredentialType): docs/xks-spec.md §8.1.
  accessKeyId: Type.String({ pattern: '^[A-Z2-7]{20,30}$', description: 'The SigV4 access key id KMS signs with.' }),
  secretAccessKey: secretField('The SigV4 secret access key: 43-64 of A-Za-z0-9/+=.'),
  createdAt: Type.Optional(Type.String({
    pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2}))?$',
    description: 'When the secret was issued (ISO 8601, e.g. "2026-03-01T00:00:00Z"), for xksgate_credential_age_days. ' +
      'Absent: the secret file\'s modification time, or no age for an inline or environment secret.',
  })),
}, strict)

const HsmLabel = Type.String({ minLength: 1, maxLength: 256 })
/** Key versions as ciphertextMetadata records them (src/xks/ciphertext-metadata.ts): 1 is the original key. */
const KeyVersion = (description: string) => Type.Integer({ minimum: 1, maximum: 65535, description })

const ExternalKey = Type.Object({
  label: Type.String({ ...HsmLabel, description: 'CKA_LABEL of the AES-256 key on the token that Encrypt uses: the key\'s newest version. Two key stores sharing a label is refused.' }),
  version: Type.Optional(KeyVersion('The version number of label, recorded in the ciphertextMetadata of every Encrypt. Default 1.')),
  decryptOnlyVersions: Type.Optional(Type.Array(Type.Object({
    version: KeyVersion('The version number this label holds.'),
    label: Type.String({ ...HsmLabel, description: 'CKA_LABEL of that version\'s key.' }),
  }, strict), {
    maxItems: 64,
    description: 'Other versions of this key that Decrypt still uses for ciphertexts recorded under them: older ones after a ' +
      'rotation (until the operator retires them by removing them here), or a newer one staged on every host of a fleet ' +
      'before it becomes label (docs/ciphertext-metadata.md).',
  })),
  disabled: Type.Optional(Type.Boolean({ description: 'Reported as keyStatus DISABLED; Encrypt and Decrypt answer 400 InvalidStateException. Default false.' })),
  usage: Type.Optional(Type.Array(Type.Union([Type.Literal('ENCRYPT'), Type.Literal('DECRYPT')]), {
    uniqueItems: true,
    description: 'The usages the key must allow, exactly (CKA_ENCRYPT, CKA_DECRYPT), checked at startup. Absent: at least one ' +
      'of them. [] declares a key that can do neither, on purpose (the official test client\'s "impotent" key).',
  })),
}, strict)

const KeyStore = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'A short name for logs and metrics.' }),
  uriPrefix: Type.String({ minLength: 10, maxLength: 128, description: 'The XksProxyUriPath configured in KMS, e.g. "/keystores/abc/kms/xks/v1".' }),
  // Two or more during a rotation (spec §"Authentication").
  credentials: Type.Array(Credential, { minItems: 1, maxItems: 8, description: 'The SigV4 credentials KMS may sign with; list two during a rotation.' }),
  allowedRegions: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d+$' }), {
    minItems: 1,
    description: 'Allow-list of SigV4 credential scope regions; absent means any region.',
  })),
  keys: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$' }), ExternalKey, {
    keyName: 'externalKeyId',
    description: 'externalKeyId → its key on the token. Ids follow KMS: 1-128 of [A-Za-z0-9._-].',
  }),
  // Checked by src/policy/compile.ts, with messages naming the statement.
  policy: Type.Optional(Type.Unknown({
    description: 'Secondary authorization (docs/xks-spec.md §10): a policy document, inline or {"file": "path"} relative to ' +
      'the configuration file. Absent: every authenticated request is allowed.',
  })),
  quota: Type.Optional(Type.Object({
    rate: Type.Number({ exclusiveMinimum: 0, maximum: 1000000, description: 'Requests per second, refilled continuously.' }),
    burst: Type.Integer({ minimum: 1, maximum: 1000000, description: 'Requests that may arrive at once after a quiet spell.' }),
  }, {
    ...strict,
    description: 'Token bucket for this key store, per host (each of its N serving processes holds rate/N and burst/N): ' +
      'requests past it get 429 ThrottlingException before SigV4 or any HSM work. GetHealthStatus is exempt. Absent: no quota.',
  })),
}, strict)

const ClientAuth = Type.Object({
  caFiles: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: 'PEM files of the CAs KMS\'s client certificates chain to (Amazon\'s roots: /usr/share/ca-certificates/mozilla/Amazon_Root_CA_*.crt).',
  }),
  allowedSubjects: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$' }), {
    minItems: 1,
    description: 'DNS names a client certificate\'s CN and every subjectAltName must be among. Default: ' +
      'cks.kms.<region>.amazonaws.com for each region of the key stores\' allowedRegions (any region if a store has none).',
  })),
}, { ...strict, description: 'Strict mTLS (needs server.frontend "node"): the client certificate must chain to caFiles and name only allowed subjects.' })

const Tls = Type.Object({
  certFile: Type.String({
    minLength: 1,
    description: 'PEM certificate chain, leaf first, then its intermediates; checked at load and at start: the key belongs ' +
      'to the leaf, the chain is complete, nothing in it expired (a warning below 30 days).',
  }),
  keyFile: Type.String({ minLength: 1, description: 'The leaf\'s unencrypted PEM private key.' }),
  clientAuth: Type.Optional(ClientAuth),
}, { ...strict, description: 'The certificate and key KMS sees, and optionally mTLS.' })

const Server = Type.Object({
  frontend: Type.Union([Type.Literal('uws'), Type.Literal('node')], {
    default: 'uws',
    description: 'The HTTPS server carrying XKS: uWebSockets.js (fastest), or node:tls (TLS 1.3 suites narrowed to the spec\'s, strict mTLS).',
  }),
  host: Type.String({ default: '0.0.0.0', description: 'Listen address.' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8443, description: 'Listen port (KMS always connects to 443: map it there, e.g. on the NLB).' }),
  tls: Tls,
  requestTimeoutMs: Type.Integer({
    minimum: 10,
    maximum: 60000,
    default: 240,
    description: 'Budget for a whole request from its head; past it the answer is 503 DependencyTimeoutException. KMS itself gives up after 250 ms.',
  }),
  bodyTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 5000, description: 'A client that has not sent its whole body by then is disconnected (slow-loris guard).' }),
  // The largest valid request is about 32 KiB (11 KB AAD + 6 KB plaintext + three 2048-character ARNs).
  maxBodyBytes: Type.Integer({ minimum: 32768, maximum: 1048576, default: 65536, description: 'Larger bodies get 501 before they are read.' }),
  // Under a 2x overload, 1024 let HSM waits reach the 200 ms op timeout and answer 503s; 128 kept them to 429s.
  maxInFlight: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 256,
    description: 'Requests in progress per process beyond which new ones get 429 ThrottlingException at once, before SigV4 ' +
      'or any other work. Size it at about a tenth of a second of the process\'s throughput: more only queues work past KMS\'s 250 ms.',
  }),
}, { ...strict, description: 'The HTTPS listener KMS calls.' })

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
  {
    maxProperties: 32,
    additionalProperties: false,
    description: 'Environment variables the PKCS#11 module reads when it starts, set in every process that loads it before ' +
      'it loads, e.g. {"SOFTHSM2_CONF": "/etc/softhsm2.conf"}. Backends that set the same variable must agree; the ' +
      'configuration wins over a value the process was started with (a warning names the variable, never its value).',
  })

const HsmBackend = Type.Object({
  name: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_.-]{1,64}$',
    description: 'Names the backend in logs, metrics (the backend label), /readyz and GetHealthStatus; unique. Default: its tokenLabel.',
  })),
  modulePath: Type.String({ default: '/usr/lib/softhsm/libsofthsm2.so', description: 'The PKCS#11 library.' }),
  tokenLabel: Type.String({ minLength: 1, maxLength: 32, description: 'The token, found by its label (never by slot id).' }),
  pin: secretField('The CKU_USER PIN. Never logged.'),
  environment: Type.Optional(ModuleEnvironment),
  // Where the calls are CPU work on this host (SoftHSM-class) one thread got batches of ~6-10 operations and beat
  // two on the 2-core VM; where they wait on a network one thread keeps many sessions busy at once (docs/operations.md "Processes, threads, sessions: sizing").
  threads: Type.Integer({
    minimum: 1,
    maximum: 256,
    default: 1,
    description: 'Worker threads, each with its own pinned sessions. 1 suits both kinds of HSM; more only help an HSM whose ' +
      'client library is CPU work, on a host with cores to spare.',
  }),
  sessionsPerThread: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 1,
    description: 'Sessions each thread opens at start; more open as the concurrency grows, up to maxSessions.',
  }),
  // CloudHSM allows 1,024 sessions per application, shared by every process of the fleet on one host.
  maxSessions: Type.Integer({
    minimum: 1,
    maximum: 1024,
    default: 64,
    description: 'The most sessions this process opens on the HSM, and so the most operations it has there at once. The ' +
      'concurrency in use adapts to the HSM\'s latency below this, below the token\'s own ulMaxSessionCount, and below ' +
      'libuv\'s thread pool (UV_THREADPOOL_SIZE, which the proxy sets to 64 when the environment does not).',
  }),
  ivSource: Type.Union([Type.Literal('random'), Type.Literal('hsm-random')], {
    default: 'random',
    description: 'Where IVs come from: Node\'s CSPRNG (random), or C_GenerateRandom on the HSM (hsm-random).',
  }),
  maxBatch: Type.Integer({ minimum: 1, maximum: 1024, default: 32, description: 'Most operations sent to a worker thread in one message.' }),
  opTimeoutMs: Type.Integer({
    minimum: 10,
    maximum: 60000,
    default: 200,
    description: 'An HSM operation that takes longer answers 503 DependencyTimeoutException. With several backends it bounds ' +
      'each attempt, and server.requestTimeoutMs bounds the attempt plus its retry.',
  }),
  startTimeoutMs: Type.Integer({
    minimum: 500,
    maximum: 600000,
    default: 30000,
    description: 'How long the worker threads may take to load the module, open their sessions and log in. Past it the start ' +
      'fails (exit 1, the supervisor restarts), even when the module never answers at all.',
  }),
  hedge: Type.Boolean({
    default: false,
    description: 'With several backends: an operation on this backend still unanswered after the backend\'s recent p95 ' +
      'latency is sent to another backend as well, and the first answer wins. It costs about 5% more HSM operations.',
  }),
}, strict)

/**
 * The HSM backends, holding the same keys under the same labels; one object is a list of one. load.ts turns an
 * object into that list before the schema check, so this is the one shape the rest of the code sees.
 */
const Hsm = Type.Array(HsmBackend, {
  minItems: 1,
  maxItems: 16,
  description: 'One HSM backend (an object), or a list of backends holding the same keys under the same labels (failover). ' +
    'A single object\'s fields keep their names in messages and overrides (/hsm/pin); in a list they carry the index (/hsm/1/pin).',
})

const Health = Type.Object({
  // The deep check never touches customer keys (spec §GetHealthStatus).
  keyLabel: Type.String({ minLength: 1, description: 'A dedicated key for the deep health check; the label of a customer key is refused.' }),
  // The spec allows a cached result of at most 60 s.
  intervalMs: Type.Integer({ minimum: 1000, maximum: 60000, default: 15000, description: 'How often the background deep check runs.' }),
  degradedLatencyMs: Type.Integer({ minimum: 1, maximum: 60000, default: 100, description: 'A successful check slower than this reports DEGRADED.' }),
  proxyVendor: Type.String({ default: 'xksgate', description: 'GetHealthStatus xksProxyVendor.' }),
  proxyModel: Type.Optional(Type.String({ minLength: 1, description: 'GetHealthStatus xksProxyModel. Default: "xksgate <version>".' })),
  ekmVendor: Type.Optional(Type.String({ minLength: 1, description: 'GetHealthStatus ekmVendor. Default: the token\'s manufacturer id.' })),
}, { ...strict, description: 'The deep health check behind GetHealthStatus and /readyz.' })

const Limits = Type.Object({
  maxPlaintextBytes: Type.Integer({
    minimum: SPEC_MIN_PLAINTEXT_BYTES,
    maximum: 65536,
    default: 8192,
    description: 'Larger plaintext or ciphertext gets 501; the spec requires at least 4300 bytes.',
  }),
  // The u16 length prefix of the AAD in the GCM AAD formula caps it at 65535.
  maxAadBytes: Type.Integer({
    minimum: SPEC_MIN_AAD_BYTES,
    maximum: MAX_GCM_AAD_BYTES,
    default: 16384,
    description: 'Larger AAD gets 501; the spec requires at least 8192 bytes.',
  }),
}, strict)

const Auth = Type.Object({
  // Spec: requests more than 5 minutes old or ahead SHOULD fail.
  maxSkewSeconds: Type.Integer({ minimum: 1, maximum: 900, default: 300, description: 'SigV4 clock skew allowed: 300 s is accepted, 301 s is not.' }),
}, strict)

const Log = Type.Object({
  level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info', description: 'The pino log level.' }),
}, strict)

const HostPort = Type.Object({
  host: Type.String({ minLength: 1, description: 'Host name or address.' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port.' }),
}, strict)

const Redis = Type.Object({
  mode: Type.Union([Type.Literal('standalone'), Type.Literal('sentinel'), Type.Literal('cluster')], {
    default: 'standalone',
    description: 'standalone (url), sentinel (sentinels, name) or cluster (nodes).',
  }),
  url: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'standalone: redis://host:port/db, or rediss:// for TLS.' })),
  sentinels: Type.Optional(Type.Array(HostPort, { minItems: 1, description: 'sentinel: a few sentinels.' })),
  name: Type.Optional(Type.String({ minLength: 1, description: 'sentinel: the master group name.' })),
  nodes: Type.Optional(Type.Array(HostPort, { minItems: 1, description: 'cluster: a few seed nodes.' })),
  tls: Type.Optional(Type.Union([Type.Boolean(), Type.Object({
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA the server\'s certificate chains to.' })),
    servername: Type.Optional(Type.String({ minLength: 1, description: 'The SNI name to send and verify.' })),
    rejectUnauthorized: Type.Optional(Type.Boolean({ description: 'false skips verification: for tests only.' })),
  }, strict)], { description: 'true: TLS with the system CAs; an object names a CA file, an SNI name, or (tests only) no verification.' })),
  username: Type.Optional(Type.String({ minLength: 1, description: 'Redis ACL user.' })),
  password: Type.Optional(secretField('Redis AUTH password.')),
  connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 2000, description: 'Budget of a connection attempt.' }),
}, {
  ...strict,
  description: 'Shared Redis for the replay cache and the fleet registry. Absent: in-process replay cache, fleet of one.',
})

const Replay = Type.Object({
  failurePolicy: Type.Union([Type.Literal('fail-open-local'), Type.Literal('fail-closed')], {
    default: 'fail-open-local',
    description: 'Redis unreachable: serve with the in-process cache and warn (fail-open-local), or answer 503 DependencyTimeoutException (fail-closed).',
  }),
  commandTimeoutMs: Type.Integer({ minimum: 1, maximum: 1000, default: 50, description: 'Budget of one Redis call on the request path; KMS gives the whole request 250 ms.' }),
  maxLocalEntries: Type.Optional(Type.Integer({
    minimum: 1000,
    maximum: 100000000,
    description: 'Live signatures the in-process cache holds (20 bytes each, allocated at startup). Default: KMS\'s quota of ' +
      '1,800 req/s × (2 × auth.maxSkewSeconds + 1) s × key stores, so no live signature is ever dropped; past it, requests ' +
      'get 429 rather than an unrecorded signature.',
  })),
  allowProcessLocal: Type.Boolean({
    default: false,
    description: 'Let several serving processes on one host run without Redis. Each then has its own replay cache, so a ' +
      'replay sent to a sibling process is accepted; without this such a layout refuses to start.',
  }),
  keyPrefix: Type.String({ minLength: 1, maxLength: 64, default: 'xksgate:replay:', description: 'Prefix of the replay cache\'s Redis keys.' }),
}, strict)

const Fleet = Type.Object({
  // KMS reads the fleet size as proxies, not as the processes on them.
  instanceId: Type.String({
    minLength: 1,
    maxLength: 200,
    default: hostname(),
    description: 'What counts as one proxy in xksProxyFleetSize. Default: the host name, so all processes of a host count once.',
  }),
  heartbeatMs: Type.Integer({ minimum: 500, maximum: 60000, default: 5000, description: 'How often each proxy announces itself in Redis.' }),
  keyPrefix: Type.String({ minLength: 1, maxLength: 64, default: 'xksgate:', description: 'Prefix of the fleet registry\'s Redis keys.' }),
}, strict)

const Cluster = Type.Object({
  processes: Type.Integer({
    minimum: 0,
    maximum: 1024,
    default: 1,
    description: 'Serving processes; 0 = one per core. 1 serves in the starting process itself, which is also what each PM2 ' +
      'fork-mode instance runs. More than one on a host needs redis for the replay cache (or replay.allowProcessLocal).',
  }),
  restartMinMs: Type.Integer({ minimum: 10, maximum: 60000, default: 100, description: 'First delay before a crashed process is replaced; it doubles while crashes keep coming.' }),
  restartMaxMs: Type.Integer({ minimum: 10, maximum: 600000, default: 10000, description: 'Longest delay before a crashed process is replaced.' }),
  readyTimeoutMs: Type.Integer({
    minimum: 1000,
    maximum: 600000,
    default: 60000,
    description: 'A serving process not ready this long after its fork is stopped: the start fails, or the reload is refused.',
  }),
}, strict)

const Shutdown = Type.Object({
  graceMs: Type.Integer({ minimum: 0, maximum: 120000, default: 0, description: 'After SIGTERM, /readyz answers 503 this long while still serving, so a load balancer can notice first.' }),
  drainMs: Type.Integer({ minimum: 0, maximum: 120000, default: 10000, description: 'Longest wait for requests in progress once the listener is closed.' }),
  lingerMs: Type.Integer({
    minimum: 0,
    maximum: 60000,
    default: 1000,
    description: 'Once the listener is closed, keep serving this long: a keep-alive client sending its next request gets its ' +
      'answer with Connection: close and reconnects to another process, instead of finding its socket closed.',
  }),
}, strict)

const Metrics = Type.Object({
  port: Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()], {
    default: 9464,
    description: 'Plain-HTTP Prometheus endpoint (GET /metrics); never served on the TLS port. null disables it.',
  }),
  host: Type.String({ default: '127.0.0.1', description: 'Address of the metrics endpoint.' }),
}, strict)

const HealthPort = Type.Object({
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Plain-HTTP port serving GET /ping and /readyz for load-balancer health checks. Absent: none.' })),
  host: Type.String({ default: '0.0.0.0', description: 'Address of the health port.' }),
}, strict)

const Audit = Type.Object({
  file: Type.String({
    minLength: 1,
    description: 'The tamper-evident audit log: one JSON line per request (requests refused before authentication summed ' +
      'once a second), chained by HMAC-SHA256. Each serving process writes its own chain: the first this file, the next ' +
      '<file>.1 and so on; rotated files get a suffix.',
  }),
  key: secretField('The HMAC-SHA256 key of the chain, at least 32 characters (openssl rand -base64 32); whoever holds it can verify the log, and could rewrite it.'),
  rotateBytes: Type.Integer({ minimum: 4096, maximum: 1099511627776, default: 67108864, description: 'The file is renamed to <file>.<UTC time> once it holds this many bytes, and a new one begun; the chain runs on.' }),
  maxBufferBytes: Type.Integer({
    minimum: 65536,
    maximum: 1073741824,
    default: 16777216,
    description: 'Records waiting for the disk beyond this many bytes are dropped and counted (the chain says how many).',
  }),
  keepFiles: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 1000000,
    description: 'Rotated files kept beyond the current one; older ones are removed at each rotation. Absent: all are kept.',
  })),
  keepBytes: Type.Optional(Type.Integer({
    minimum: 4096,
    maximum: 1125899906842624,
    description: 'Rotated files kept up to this many bytes together (the newest always kept). Absent: all are kept.',
  })),
}, { ...strict, description: 'The tamper-evident audit log (docs/operations.md). Absent: no audit log.' })

const section = <T extends TProperties>(properties: T, description: string) => Type.Object(properties, { ...strict, default: {}, description })

export const ConfigSchema = Type.Object({
  server: Server,
  hsm: Hsm,
  health: Health,
  limits: section(Limits.properties, 'Size limits of Encrypt and Decrypt.'),
  auth: section(Auth.properties, 'SigV4 checks.'),
  log: section(Log.properties, 'The JSON log on stdout.'),
  redis: Type.Optional(Redis),
  replay: section(Replay.properties, 'The replay cache: a SigV4 signature is accepted once.'),
  fleet: section(Fleet.properties, 'The fleet registry behind GetHealthStatus\'s xksProxyFleetSize (needs redis).'),
  cluster: section(Cluster.properties, 'Serving processes on this host.'),
  shutdown: section(Shutdown.properties, 'SIGTERM: readiness off, grace, drain, linger.'),
  metrics: section(Metrics.properties, 'The Prometheus endpoint.'),
  healthPort: section(HealthPort.properties, 'The plain-HTTP health port for load balancers.'),
  audit: Type.Optional(Audit),
  keyStores: Type.Array(KeyStore, { minItems: 1, description: 'The external key stores this proxy serves, one per KMS custom key store.' }),
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
