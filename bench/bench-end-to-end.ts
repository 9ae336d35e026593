/**
 * End-to-end runs of issue 9's table: N COMPONENT_DESCRIPTOR provisions through the HTTP API, one service
 * process (ROLE=all) against the in-process Airbyte simulator, timed from the first submission to the last
 * terminal status. Variants: zero latency (throughput), 50 ms per call (does concurrency fill the wait), 2 s
 * syncs at worker concurrency 4 (do waits free the slots), and 10,000 tasks (does the worker's RSS grow).
 */
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { RedisKeys } from '../src/queue/redis-keys.js'
import { startAirbyteSimulator, type AirbyteSimulator } from '../src/sandbox/airbyte/airbyte-simulator.js'
import type { SpawnService } from './bench-provision-costs.js'

export interface EndToEndOptions {
  title: string
  components: number
  /** Added to every simulator call, ms. Default 0. */
  latencyMs?: number
  /** How long a sync runs in the simulator, ms. Default 0. */
  syncMs?: number
  /** WORKER_CONCURRENCY. Default 32. */
  concurrency?: number
  /** Record the service's RSS every time this many more tasks are done (and at the end). */
  rssAfter?: number
  /** Makes each request distinct (and its resources' names). */
  descriptor: (i: number) => string
  /** The ids of this run's requests start here, so runs sharing a workspace never meet. */
  offset: number
  /** Provisions run first, untimed and uncounted, at zero latency. Default 0. */
  warmup?: number
}

export interface EndToEndResult {
  seconds: number
  perSecond: number
  failed: number
  callsPerComponent: number
  rss: Array<[number, number]>
  /** CPU time (user + system) the service process spent per component, ms: what a busy machine does not change. */
  cpuMsPerComponent: number
}

/** utime + stime of a process, ms (/proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs (pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

function rssMb (pid: number | undefined): number {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024)
  } catch {
    return Number.NaN
  }
}

export async function endToEnd (spawnService: SpawnService, env: Record<string, string>, opts: EndToEndOptions): Promise<EndToEndResult> {
  const sim: AirbyteSimulator = await startAirbyteSimulator({ syncDurationMs: opts.syncMs ?? 0 })
  const service = await spawnService({
    ...env,
    ROLE: 'all',
    LOG_LEVEL: 'info',
    AIRBYTE_API_URL: sim.url,
    AIRBYTE_AUTH: 'client_credentials',
    AIRBYTE_CLIENT_ID: 'sim-client',
    AIRBYTE_CLIENT_SECRET: 'sim-secret',
    AIRBYTE_WORKSPACE_ID: sim.workspaceId,
    AIRBYTE_SYNC_POLL_MIN_MS: '20',
    AIRBYTE_SYNC_POLL_MAX_MS: '500',
    WORKER_CONCURRENCY: String(opts.concurrency ?? 32),
    AIRBYTE_MAX_CONCURRENT_REQUESTS: '64'
  })
  // Completion is read from the task hashes in Redis, not through the API: polling hundreds of statuses over
  // HTTP would spend the very process being measured.
  const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379')
  const keys = new RedisKeys(env.QUEUE_PREFIX ?? 'tech-adapter')
  const statusOf = async (tokens: string[]): Promise<Array<readonly [string, string]>> => {
    const batch = redis.pipeline()
    for (const t of tokens) batch.hget(keys.task(t), 'status')
    const replies = await batch.exec() ?? []
    return tokens.map((t, i) => [t, String(replies[i]?.[1] ?? 'RUNNING')] as const)
  }
  /** Submits `count` provisions from `offset` on and follows them to their end; `onEnd(ok)` per finished one. */
  const provisionAll = async (count: number, offset: number, onEnd: (ok: boolean) => void): Promise<void> => {
    // Submit and follow in windows of 200, so a 10,000-task run does not hold 10,000 tokens at once.
    for (let base = 0; base < count; base += 200) {
      const size = Math.min(200, count - base)
      const tokens: string[] = []
      for (let i = 0; i < size; i += 50) {
        tokens.push(...await Promise.all(Array.from({ length: Math.min(50, size - i) }, async (_, k) => {
          const res = await fetch(`${service.url}/v1/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: opts.descriptor(offset + base + i + k) }) })
          return await res.text()
        })))
      }
      const pending = new Set(tokens)
      while (pending.size > 0) {
        for (const [t, status] of await statusOf([...pending])) {
          if (status === 'RUNNING') continue
          pending.delete(t)
          onEnd(status === 'COMPLETED')
        }
        if (pending.size > 0) await new Promise(resolve => setTimeout(resolve, 50))
      }
    }
  }
  try {
    // Not timed: a process just started runs its first tasks on cold code (JIT, first schema compiles, pools).
    if ((opts.warmup ?? 0) > 0) await provisionAll(opts.warmup ?? 0, opts.offset + 900_000, () => {})
    if (opts.latencyMs !== undefined) sim.faults.latencyMs = opts.latencyMs
    const before = sim.requests.length
    const cpuBefore = cpuMs(service.child.pid)
    const started = Date.now()
    const rss: Array<[number, number]> = []
    let failed = 0
    let done = 0
    await provisionAll(opts.components, opts.offset, (ok) => {
      done++
      if (!ok) failed++
      if (opts.rssAfter !== undefined && done % opts.rssAfter === 0) rss.push([done, rssMb(service.child.pid)])
    })
    const seconds = (Date.now() - started) / 1000
    if (opts.rssAfter !== undefined && rss[rss.length - 1]?.[0] !== done) rss.push([done, rssMb(service.child.pid)])
    const calls = sim.requests.slice(before).filter((r) => !r.path.endsWith('/applications/token')).length
    const cpuMsPerComponent = (cpuMs(service.child.pid) - cpuBefore) / opts.components
    return { seconds, perSecond: opts.components / seconds, failed, callsPerComponent: calls / opts.components, rss, cpuMsPerComponent }
  } finally {
    redis.disconnect()
    const exited = service.child.exitCode === null ? new Promise(resolve => service.child.once('exit', resolve)) : undefined
    service.child.kill('SIGTERM')
    await exited
    await sim.close()
  }
}
