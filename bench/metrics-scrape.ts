/**
 * `npx tsx bench/metrics-scrape.ts`: the cost of one GET /metrics (time per scrape, median and p95) with 10,000
 * tasks retained in Redis, real (REDIS_URL, or 127.0.0.1:6379, or a private redis-server). The tasks go in
 * through POST /v1/provision; a no-op BullMQ worker then completes most of them and fails some, so the queue
 * holds every state. Each scrape reads the queue counts afresh (the 1.5 s sharing between scrapes is undone),
 * i.e. the cost a 15 s Prometheus scrape pays. Not a test.
 */
import { UnrecoverableError, Worker } from 'bullmq'
import { loadConfig } from '../src/config.js'
import { startService } from '../src/main.js'
import { forgetQueueCounts } from '../src/observability/metrics.js'
import { RedisKeys } from '../src/queue/redis-keys.js'
import { TASK_QUEUE_NAME } from '../src/queue/task-types.js'
import { findOrStartRedis } from '../src/sandbox/local-redis.js'
import { deleteKeys } from '../test/helpers/redis-server.js'

const TASKS = Number(process.env.BENCH_TASKS ?? 10_000)
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 50)
const CONCURRENCY = 64

function request (i: number): string {
  const componentId = `urn:dmb:cmp:finance:scrape${i}:0:ingest`
  const dataProduct = {
    id: `urn:dmb:dp:finance:scrape${i}:0`,
    name: `Scrape ${i}`,
    kind: 'dataproduct',
    domain: 'finance',
    version: '0.1.0',
    environment: 'development',
    components: [{
      id: componentId,
      name: `ingest-${i}`,
      kind: 'workload',
      version: '0.0.1',
      useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0',
      infrastructureTemplateId: 'urn:dmb:itm:provisioner:0',
      dependsOn: [],
      specific: {
        source: { name: `s${i}`, connectionConfiguration: { sourceType: 'postgres', host: 'db', port: 5432, database: 'orders', username: 'reader', password: '${secret:orders-db-password}' } },
        destination: { name: `d${i}`, connectionConfiguration: { destinationType: 'snowflake', host: 'wh', database: 'DB', schema: 'S', username: 'loader', password: '${secret:snowflake-password}' } },
        connection: { name: `c${i}`, schedule: { scheduleType: 'manual' } }
      }
    }]
  }
  return JSON.stringify({ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: JSON.stringify({ dataProduct, componentIdToProvision: componentId }) })
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN
}

const redis = await findOrStartRedis()
const prefix = `bench-scrape-${process.pid}`
const config = loadConfig({
  REDIS_URL: redis.url,
  QUEUE_PREFIX: prefix,
  ROLE: 'api',
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  AUTH_MODE: 'none',
  METRICS_PUBLIC: 'true',
  RATE_LIMIT_MAX: '0',
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  AIRBYTE_API_URL: 'http://127.0.0.1:9',
  AIRBYTE_WORKSPACE_ID: 'ws',
  DESCRIPTOR_SECRET_FINANCE__ORDERS_DB_PASSWORD: 'bench-db-password-1',
  DESCRIPTOR_SECRET_FINANCE__SNOWFLAKE_PASSWORD: 'bench-wh-password-2'
})
const service = await startService(config)
try {
  const base = service.url ?? ''
  let next = 0
  const submit = async (upTo: number): Promise<void> => {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < upTo) {
        const i = next++
        const res = await fetch(`${base}/v1/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: request(i) })
        if (res.status !== 202) throw new Error(`submit ${i}: ${res.status} ${await res.text()}`)
      }
    }))
  }
  const started = Date.now()
  // Nine tenths end (kept for the retention period, one in nine failed); the last tenth stays waiting.
  const toProcess = Math.floor(TASKS * 0.9)
  await submit(toProcess)
  let processed = 0
  await new Promise<void>((resolve) => {
    const worker = new Worker(TASK_QUEUE_NAME, async () => {
      processed++
      if (processed === toProcess) worker.close().then(resolve, resolve)
      if (processed % 9 === 0) throw new UnrecoverableError('bench failure')
      return 'done'
    }, { connection: { url: redis.url }, prefix: new RedisKeys(prefix).bullPrefix, concurrency: 50 })
  })
  await submit(TASKS)
  process.stdout.write(`${TASKS} tasks submitted and ${toProcess} of them ended in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)

  const timings: number[] = []
  let bytes = 0
  let counts = ''
  for (let i = 0; i < SCRAPES; i++) {
    forgetQueueCounts()
    const t0 = performance.now()
    const res = await fetch(`${base}/metrics`)
    const text = await res.text()
    timings.push(performance.now() - t0)
    bytes = text.length
    counts = text.split('\n').filter(line => line.startsWith('tech_adapter_queue_jobs{')).join(', ')
  }
  const sorted = [...timings].sort((a, b) => a - b)
  process.stdout.write(`queue: ${counts}\n`)
  process.stdout.write(`GET /metrics x${SCRAPES} (${bytes} bytes): median ${percentile(sorted, 0.5).toFixed(2)} ms, p95 ${percentile(sorted, 0.95).toFixed(2)} ms, max ${sorted.at(-1)?.toFixed(2) ?? '?'} ms\n`)
} finally {
  await service.close()
  await deleteKeys(redis.url, prefix)
  await redis.stop()
}
