/**
 * Process entry: configuration from the environment, then the roles asked for (`ROLE=api|worker|all`).
 * SIGTERM/SIGINT: stop accepting requests and jobs, let active steps finish or checkpoint, close Redis, exit 0.
 * Bounded even with Redis unreachable: the roles close side by side, each within the grace plus a few seconds,
 * and a last unref'd timer exits (code 1) if anything still hangs.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { DestinationStream } from 'pino'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import { buildApp } from './app.js'
import { loadConfig, type Config } from './config.js'
import { describeRedis } from './config-redis.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { createHandlerRegistry } from './provisioner/handler-set.js'
import { settlesWithin } from './queue/bounded-close.js'
import { startWorkerRuntime, type WorkerRuntime } from './queue/worker-runtime.js'
import { SecretScrubber } from './secrets/secret-scrubber.js'
import { createSecretStore } from './secrets/secret-store.js'
import { currentServiceCredentialValues } from './secrets/service-credentials.js'
import { collectProcessMetrics } from './observability/metrics.js'
import { startTracing } from './observability/tracing.js'
import { startWorkerHealthServer, type WorkerHealthServer } from './observability/worker-health-server.js'

export interface RunningService {
  app?: FastifyInstance
  worker?: WorkerRuntime
  url?: string
  /** ROLE=worker: the health and metrics server on METRICS_PORT. */
  metricsUrl?: string
  close: () => Promise<void>
}

export interface ServiceOptions {
  fetch?: typeof fetch
  /** Where log lines go (already scrubbed). Default stdout. */
  logDestination?: DestinationStream
  /** Turns tracing on with this exporter instead of OTLP (tests: an in-memory one). Default per OTEL_*. */
  traceExporter?: SpanExporter
}

export async function startService (config: Config, opts: ServiceOptions = {}): Promise<RunningService> {
  // One scrubber per process: it learns every secret value the store reads and every service credential.
  const scrubber = new SecretScrubber()
  const serviceCredentials = (): string[] => currentServiceCredentialValues(config.serviceCredentials)
  for (const value of serviceCredentials()) scrubber.add(value)
  const secrets = createSecretStore({ ...config.descriptorSecrets, serviceCredentials, scrubber })
  // Learn every value now, so log lines of both roles are scrubbed before any secret is resolved.
  secrets.list()
  const logger = createLogger(config.logLevel, { scrubber, destination: opts.logDestination })
  const handlerDeps = { fetch: opts.fetch, scrubber }
  // Before any queue or worker exists: they take BullMQ's telemetry only when tracing is on.
  const tracing = startTracing(config.tracing, { exporter: opts.traceExporter })
  collectProcessMetrics()
  let app: FastifyInstance | undefined
  let worker: WorkerRuntime | undefined
  let url: string | undefined
  let healthServer: WorkerHealthServer | undefined
  if (config.role !== 'api') worker = startWorkerRuntime(config, secrets, logger.child({ role: 'worker' }), handlerDeps)
  // ROLE=all: the API port serves health and metrics for both roles.
  if (config.role === 'worker' && worker !== undefined) {
    healthServer = await startWorkerHealthServer({ port: config.metricsPort, host: config.host, ready: worker.ready })
  }
  if (config.role !== 'worker') {
    const registry = createHandlerRegistry(config, handlerDeps)
    app = await buildApp({ config, registry, secrets, loggerInstance: logger.child({ role: 'api' }) })
    app.addHook('onClose', async () => { await registry.close() })
    url = await app.listen({ port: config.port, host: config.host })
  }
  logger.info({ role: config.role, url, metricsUrl: healthServer?.url, basePath: config.basePath, queuePrefix: config.queuePrefix, redis: describeRedis(config.redis), tracing: tracing !== undefined }, 'tech adapter started')
  return {
    app,
    worker,
    url,
    metricsUrl: healthServer?.url,
    async close () {
      // Independent: the API's in-flight requests need not wait for the worker's grace, nor the reverse.
      await Promise.all([
        // Fastify waits for in-flight requests; the grace bounds that too.
        app === undefined ? undefined : settlesWithin(app.close(), config.shutdownGraceMs),
        worker?.close()
      ])
      await healthServer?.close()
      // The last spans (the task that just checkpointed) still reach the collector, within a bound.
      if (tracing !== undefined) await settlesWithin(tracing.shutdown(), 2_000)
    }
  }
}

/** Past the grace, how long the bounded close steps may take before the process exits regardless, ms. */
export const HARD_DEADLINE_AFTER_GRACE_MS = 5_000

export function installSignalHandlers (service: RunningService, log: (msg: string) => void, opts: { hardDeadlineMs?: number } = {}): void {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log(`${signal} received: shutting down`)
    if (opts.hardDeadlineMs !== undefined) {
      const deadline = opts.hardDeadlineMs
      // Every close step has its own deadline; this one catches a close that hangs anyway, and is unref'd so
      // it never holds up an exit that happens earlier.
      setTimeout(() => {
        log(`shutdown did not finish within ${deadline} ms; exiting anyway (jobs resume from their checkpoints)`)
        process.exit(1)
      }, deadline).unref()
    }
    service.close().then(() => { process.exit(0) }, (err: unknown) => {
      log(`shutdown failed: ${String(err)}`)
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => { stop('SIGTERM') })
  process.once('SIGINT', () => { stop('SIGINT') })
}

async function main (): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  const service = await startService(config)
  const logger = createLogger(config.logLevel)
  installSignalHandlers(service, (msg) => { logger.info(msg) }, { hardDeadlineMs: config.shutdownGraceMs + HARD_DEADLINE_AFTER_GRACE_MS })
}

const entry = process.argv[1]
if (entry !== undefined && fileURLToPath(import.meta.url) === realpathSync(entry)) {
  main().catch((err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
