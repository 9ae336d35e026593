/**
 * Process configuration, read once from the environment and validated at start-up. Every problem is reported
 * by variable name; nothing below this module reads `process.env`. Every secret variable also accepts
 * `<NAME>_FILE`, a path to a file holding the value (how Kubernetes mounts secrets).
 */
import { availableParallelism } from 'node:os'
import { ConfigEnv, type Env } from './config-env.js'
import { readRedisSettings, redisCredentialValues, type RedisSettings } from './config-redis.js'
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS_PER_MAPPING, DEFAULT_MAX_NODES, type DescriptorLimits } from './descriptor/descriptor-limits.js'
import { ConfigError } from './errors.js'
import { QUEUE_PREFIX_FORMAT } from './queue/redis-keys.js'
import { ENV_PREFIX } from './secrets/secret-scope.js'
import { HANDLER_IDS, handlerModules, type HandlerConfigs } from './provisioner/handler-modules.js'
import { readTracingConfig, TRACING_CREDENTIAL_VARIABLES, type TracingConfig } from './observability/tracing-config.js'
import { serviceCredentialsFrom, storeOverlapProblems, type ServiceCredentials } from './secrets/service-credentials.js'

export type Role = 'api' | 'worker' | 'all'
export type AuthMode = 'bearer' | 'jwt' | 'none'

/** Asymmetric JWS algorithms only: a JWKS publishes public keys, and `none`/HMAC must never verify. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

export interface JwtAuthConfig {
  /** `AUTH_JWT_JWKS_URL`: where the issuer publishes its signing keys (fetched and cached by jose). Required. */
  jwksUrl: string
  /** `AUTH_JWT_ISSUER`: the exact `iss` every token must carry. Required. */
  issuer: string
  /** `AUTH_JWT_AUDIENCE`: accepted `aud` values, comma-separated; a token must name one. Required. */
  audience: string[]
  /** `AUTH_JWT_ALGORITHMS`: accepted signing algorithms. Default `RS256,PS256,ES256,EdDSA`. */
  algorithms: string[]
  /** `AUTH_JWT_CLOCK_TOLERANCE_SECONDS`: skew allowed on `exp`/`nbf`/`iat`. Default 30. */
  clockToleranceSeconds: number
  /** `AUTH_JWT_REQUIRED_SCOPE`: a scope (`scope` or `scp` claim) every caller needs, else 403. Default none. */
  requiredScope?: string
  /** `AUTH_JWT_JWKS_TIMEOUT_MS`: timeout of one JWKS fetch. Default 5000. */
  jwksTimeoutMs: number
}

export interface AuthConfig {
  /** `AUTH_MODE`: how callers authenticate. Default `bearer`; `none` (anyone) must be chosen explicitly. */
  mode: AuthMode
  /** `AUTH_BEARER_TOKENS_FILE`: accepted tokens, one per line (`label token`). Required with `bearer` on an API role. */
  bearerTokensFile?: string
  /** `AUTH_BEARER_TOKENS_RELOAD_MS`: how often the tokens file is re-read besides change events. Default 5000. */
  bearerReloadMs: number
  /** Present exactly when `mode` is `jwt`. */
  jwt?: JwtAuthConfig
  /** `DOCS_PUBLIC`: serve /docs (and /docs/json) without authentication. Default false. */
  docsPublic: boolean
}

export interface RateLimitConfig {
  /** `RATE_LIMIT_MAX`: requests one caller may make per window, across all API replicas; 0 turns it off. Default 12000
   * (200/s: an orchestrator polling a few hundred tasks stays well under it, a runaway loop does not). */
  max: number
  /** `RATE_LIMIT_WINDOW_MS`: length of the window. Default 60000. */
  windowMs: number
}

export interface LoadSheddingConfig {
  /** `LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS`: mean event-loop delay above which requests get 503; 0 off. Default 1000. */
  maxEventLoopDelayMs: number
  /** `LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION`: event-loop utilisation (0-1) above which requests get 503; 0 off. Default 0. */
  maxEventLoopUtilization: number
  /** `LOAD_SHED_MAX_HEAP_USED_BYTES`: 0 off. Default 0. */
  maxHeapUsedBytes: number
  /** `LOAD_SHED_MAX_RSS_BYTES`: 0 off. Default 0. */
  maxRssBytes: number
  /** `LOAD_SHED_SAMPLE_INTERVAL_MS`: how often the measures are sampled. Default 1000. */
  sampleIntervalMs: number
  /** `LOAD_SHED_RETRY_AFTER_SECONDS`: the `Retry-After` of a shed request. Default 10. */
  retryAfterSeconds: number
}

export interface Config {
  /** HTTP port. Default 8093. */
  port: number
  /** Listen address. Default `0.0.0.0`. */
  host: string
  /** Prefix for every route, e.g. `/datamesh.airbytespecificprovisioner/1.0`. Default none. */
  basePath: string
  /** Which Redis: `REDIS_URL`, `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` (src/config-redis.ts). Default `redis://127.0.0.1:6379`. */
  redis: RedisSettings
  /** Name of every Redis key this service writes, a plain name; keys are `{<prefix>}:...` (src/queue/redis-keys.ts). Default `tech-adapter`. */
  queuePrefix: string
  role: Role
  /** Jobs one worker process runs at once. Default 8. */
  workerConcurrency: number
  logLevel: string
  /** How long a finished task stays pollable, seconds. Default 7 days. */
  taskRetentionSeconds: number
  /**
   * Descriptor secrets (`${secret:NAME}`), a store of their own: DESCRIPTOR_SECRETS_DIR (files laid out
   * `<domain>/<name>` and `<domain>/<dataProduct>/<name>`) and the DESCRIPTOR_SECRET_* variables. Never the
   * service's own credentials.
   */
  descriptorSecrets: { dir?: string, env: Record<string, string> }
  /** The service's own credentials, so the descriptor store can refuse them. */
  serviceCredentials: ServiceCredentials
  /** Handler module id for components no routing rule claims (`airbyte`); unset: such components are invalid. */
  defaultHandler?: string
  /** Extra routing rules: `prefix=handler` pairs, comma-separated (`urn:dmb:utm:my-ingest=airbyte`). */
  extraRoutes: Record<string, string>
  /** Largest descriptor accepted, bytes. Default 1 MiB. */
  maxDescriptorBytes: number
  /** The work one request's descriptors may cost (`maxBytes` is maxDescriptorBytes); each limit's variable and default are in descriptor-limits.ts. */
  descriptorLimits: DescriptorLimits
  /** Step retries on transient upstream errors before a task fails. Default 8. */
  stepRetries: number
  /** First delay before a failed step is retried, ms; doubles with jitter up to stepRetryMaxMs. Default 2000. */
  stepRetryBaseMs: number
  /** Default 120000. */
  stepRetryMaxMs: number
  /** Poll interval of a task waiting for another task on the same component, ms. Default 1000. */
  componentLockPollMs: number
  /** BullMQ lock of a running job, ms: a dead worker's job is resumed elsewhere after about this long. Default 30000. */
  workerLockMs: number
  /** How often workers look for stalled jobs, ms. Default 30000. */
  workerStalledIntervalMs: number
  /** How long SIGTERM waits for active steps before exiting, ms. Default 25000. */
  shutdownGraceMs: number
  /**
   * Longest time a client may take to send a whole request (headers and body), ms: a body that stops arriving
   * is cut off with a 408. Default 30000.
   */
  requestTimeoutMs: number
  /** Longest time a client may take to send the request headers, ms. Default the smaller of 10000 and requestTimeoutMs. */
  headersTimeoutMs: number
  /** Each handler module's own section (`AIRBYTE_*`, ...), keyed by module id (src/provisioner/handler-modules.ts). */
  handlers: HandlerConfigs
  auth: AuthConfig
  rateLimit: RateLimitConfig
  loadShedding: LoadSheddingConfig
  /** `METRICS_PORT`: where a worker-only process (ROLE=worker) serves /health/live, /health/ready and /metrics. Default 9464. */
  metricsPort: number
  /** `METRICS_PUBLIC`: the API's /metrics needs no caller credentials. Default false. */
  metricsPublic: boolean
  /** `ADMIN_UI`: serve the queue dashboard (bull-board) at /admin/queues, behind authentication. Default false. */
  adminUi: boolean
  /** The standard `OTEL_*` variables (src/observability/tracing-config.ts). Default off. */
  tracing: TracingConfig
}

function descriptorSecretEnv (env: Env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(ENV_PREFIX) && value !== undefined && value !== '') out[key] = value
  }
  return out
}

/**
 * Caller authentication. Whether the bearer tokens file holds any token is checked when the app is built (it is
 * re-read at run time anyway), so a worker-only process never needs it.
 */
function readAuth (r: ConfigEnv): AuthConfig {
  const mode = r.oneOf<AuthMode>('AUTH_MODE', ['bearer', 'jwt', 'none'], 'bearer')
  const auth: AuthConfig = {
    mode,
    bearerTokensFile: r.string('AUTH_BEARER_TOKENS_FILE'),
    bearerReloadMs: r.int('AUTH_BEARER_TOKENS_RELOAD_MS', 5000, 100),
    docsPublic: r.bool('DOCS_PUBLIC', false)
  }
  if (mode !== 'jwt') return auth
  const jwksUrl = r.url('AUTH_JWT_JWKS_URL')
  const issuer = r.string('AUTH_JWT_ISSUER')
  const audience = r.list('AUTH_JWT_AUDIENCE')
  for (const [name, missing] of [['AUTH_JWT_JWKS_URL', jwksUrl === undefined], ['AUTH_JWT_ISSUER', issuer === undefined], ['AUTH_JWT_AUDIENCE', audience.length === 0]] as const) {
    if (missing && r.string(name) === undefined) r.problems.push(`${name} is required when AUTH_MODE=jwt`)
  }
  const algorithms = r.list('AUTH_JWT_ALGORITHMS')
  const unknown = algorithms.filter(a => !(JWT_ALGORITHMS as readonly string[]).includes(a))
  if (unknown.length > 0) r.problems.push(`AUTH_JWT_ALGORITHMS must list only ${JWT_ALGORITHMS.join(', ')}, got ${JSON.stringify(unknown.join(','))}`)
  auth.jwt = {
    jwksUrl: jwksUrl ?? '',
    issuer: issuer ?? '',
    audience,
    algorithms: algorithms.length > 0 ? algorithms : ['RS256', 'PS256', 'ES256', 'EdDSA'],
    clockToleranceSeconds: r.int('AUTH_JWT_CLOCK_TOLERANCE_SECONDS', 30, 0, 3600),
    requiredScope: r.string('AUTH_JWT_REQUIRED_SCOPE'),
    jwksTimeoutMs: r.int('AUTH_JWT_JWKS_TIMEOUT_MS', 5000, 100)
  }
  return auth
}

export function loadConfig (env: Env = process.env): Config {
  const r = new ConfigEnv(env)
  const basePath = (r.string('BASE_PATH') ?? '').replace(/\/+$/, '')
  if (basePath !== '' && !/^\/[A-Za-z0-9._~\-/]*$/.test(basePath)) {
    r.problems.push(`BASE_PATH must start with / and hold only URL path characters, got ${JSON.stringify(basePath)}`)
  }
  const redis = readRedisSettings(r)
  const queuePrefix = r.string('QUEUE_PREFIX') ?? 'tech-adapter'
  if (!QUEUE_PREFIX_FORMAT.test(queuePrefix)) {
    r.problems.push(`QUEUE_PREFIX must be a plain name (letters, digits, . _ : -; the service adds the {hash tag} itself), got ${JSON.stringify(queuePrefix)}`)
  }

  const defaultHandler = r.string('DEFAULT_HANDLER')
  if (defaultHandler !== undefined && !(HANDLER_IDS as readonly string[]).includes(defaultHandler)) {
    r.problems.push(`DEFAULT_HANDLER must be one of ${HANDLER_IDS.join(', ')}, got ${JSON.stringify(defaultHandler)}`)
  }
  const extraRoutes: Record<string, string> = {}
  for (const pair of (r.string('HANDLER_ROUTES') ?? '').split(',').map(s => s.trim()).filter(Boolean)) {
    const [prefix, handler] = pair.split('=').map(s => s.trim())
    if (prefix === undefined || prefix === '' || handler === undefined || !(HANDLER_IDS as readonly string[]).includes(handler)) {
      r.problems.push(`HANDLER_ROUTES entries must be prefix=handler with handler one of ${HANDLER_IDS.join(', ')}, got ${JSON.stringify(pair)}`)
      continue
    }
    extraRoutes[prefix] = handler
  }

  const handlers = Object.fromEntries(handlerModules().map((m) => [m.id, m.readConfig(r)])) as HandlerConfigs
  const credentialVariables = [...handlerModules().flatMap((m) => m.credentialVariables), ...TRACING_CREDENTIAL_VARIABLES]

  const requestTimeoutMs = r.int('REQUEST_TIMEOUT_MS', 30_000, 50, 3_600_000)
  const maxDescriptorBytes = r.int('MAX_DESCRIPTOR_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024)
  const config: Config = {
    port: r.int('PORT', 8093, 0, 65535),
    host: r.string('HOST') ?? '0.0.0.0',
    basePath,
    redis,
    queuePrefix,
    role: r.oneOf<Role>('ROLE', ['api', 'worker', 'all'], 'all'),
    workerConcurrency: r.int('WORKER_CONCURRENCY', 8, 1, 1000),
    logLevel: r.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    taskRetentionSeconds: r.int('TASK_RETENTION_SECONDS', 7 * 24 * 3600, 1),
    descriptorSecrets: { dir: r.string('DESCRIPTOR_SECRETS_DIR'), env: descriptorSecretEnv(env) },
    serviceCredentials: serviceCredentialsFrom(env, credentialVariables),
    defaultHandler,
    extraRoutes,
    maxDescriptorBytes,
    descriptorLimits: {
      maxBytes: maxDescriptorBytes,
      maxNodes: r.int('MAX_DESCRIPTOR_NODES', DEFAULT_MAX_NODES, 100, 100_000_000),
      maxKeysPerMapping: r.int('MAX_KEYS_PER_MAPPING', DEFAULT_MAX_KEYS_PER_MAPPING, 10, 10_000_000),
      maxDepth: DEFAULT_MAX_DEPTH,
      parseTimeoutMs: r.int('DESCRIPTOR_PARSE_TIMEOUT_MS', 10_000, 10, 600_000),
      inlineMaxBytes: r.int('DESCRIPTOR_INLINE_MAX_BYTES', 8192, 0, 64 * 1024 * 1024),
      parseThreads: r.int('DESCRIPTOR_PARSE_THREADS', Math.max(1, availableParallelism() - 1), 1, 256)
    },
    stepRetries: r.int('STEP_RETRIES', 8, 0, 100),
    stepRetryBaseMs: r.int('STEP_RETRY_BASE_MS', 2_000, 1),
    stepRetryMaxMs: r.int('STEP_RETRY_MAX_MS', 120_000, 1),
    componentLockPollMs: r.int('COMPONENT_LOCK_POLL_MS', 1_000, 10),
    workerLockMs: r.int('WORKER_LOCK_MS', 30_000, 500),
    workerStalledIntervalMs: r.int('WORKER_STALLED_INTERVAL_MS', 30_000, 500),
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 25_000, 0),
    requestTimeoutMs,
    headersTimeoutMs: r.int('HEADERS_TIMEOUT_MS', Math.min(10_000, requestTimeoutMs), 50, 3_600_000),
    handlers,
    auth: readAuth(r),
    rateLimit: { max: r.int('RATE_LIMIT_MAX', 12_000, 0), windowMs: r.int('RATE_LIMIT_WINDOW_MS', 60_000, 1) },
    loadShedding: {
      maxEventLoopDelayMs: r.int('LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS', 1000, 0),
      maxEventLoopUtilization: r.fraction('LOAD_SHED_MAX_EVENT_LOOP_UTILIZATION', 0),
      maxHeapUsedBytes: r.int('LOAD_SHED_MAX_HEAP_USED_BYTES', 0, 0),
      maxRssBytes: r.int('LOAD_SHED_MAX_RSS_BYTES', 0, 0),
      sampleIntervalMs: r.int('LOAD_SHED_SAMPLE_INTERVAL_MS', 1000, 10),
      retryAfterSeconds: r.int('LOAD_SHED_RETRY_AFTER_SECONDS', 10, 1, 3600)
    },
    metricsPort: r.int('METRICS_PORT', 9464, 0, 65535),
    metricsPublic: r.bool('METRICS_PUBLIC', false),
    adminUi: r.bool('ADMIN_UI', false),
    tracing: readTracingConfig(r)
  }
  if (r.string('SECRETS_DIR') !== undefined) {
    // Not kept as an alias: its flat layout granted every secret to every descriptor, service credentials included.
    r.problems.push('SECRETS_DIR is no longer read: descriptor secrets live in DESCRIPTOR_SECRETS_DIR, laid out <domain>/<name> and <domain>/<dataProduct>/<name> (README, "Secrets"), in a directory apart from the service\'s own *_FILE credentials')
  }
  // A password written inside REDIS_URL is a credential like REDIS_PASSWORD (which the generic rule already knows).
  config.serviceCredentials.values.push(...redisCredentialValues(redis))
  const storeDir = config.descriptorSecrets.dir
  if (storeDir !== undefined) r.problems.push(...storeOverlapProblems('DESCRIPTOR_SECRETS_DIR', storeDir, config.serviceCredentials.files))
  // Node refuses a headers timeout longer than the request timeout (the request includes its headers).
  if (config.headersTimeoutMs > config.requestTimeoutMs) r.problems.push('HEADERS_TIMEOUT_MS must be <= REQUEST_TIMEOUT_MS')
  if (r.problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  - ${r.problems.join('\n  - ')}`)
  }
  return config
}
