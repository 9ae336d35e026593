/**
 * `npm run bench`: prints throughput and latency figures (not a test). Needs Redis (REDIS_URL, or
 * 127.0.0.1:6379, or a private redis-server). Everything runs on this machine:
 *  1. POST /v1/provision with a ~4 KB 3-component COMPONENT_DESCRIPTOR vs a bare Fastify route doing
 *     yaml.parse + queue.add on the same body (32 connections).
 *  2. GET /v1/provision/{token}/status vs a bare Fastify route doing one Redis GET.
 *  3. Calls per provision and Redis bytes per data product (bench-provision-costs.ts).
 *  4. End to end in one service process (bench-end-to-end.ts): 1,000 provisions at zero latency, 200 at 50 ms
 *     per call (worker concurrency 8 and 32), each after 200 untimed ones on the fresh process (BENCH_WARMUP),
 *     200 with 2 s syncs at worker concurrency 4, RSS over 10,000 tasks from the start (BENCH_RSS_TASKS).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { parse, stringify } from 'yaml'
import { findOrStartRedis } from '../src/sandbox/local-redis.js'
import { deleteKeys } from '../test/helpers/redis-server.js'
import { endToEnd } from './bench-end-to-end.js'
import { benchDataProduct, callsPerProvision, redisBytesPerDataProduct } from './bench-provision-costs.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const DURATION = Number(process.env.BENCH_SECONDS ?? 10)
const E2E_COMPONENTS = Number(process.env.BENCH_COMPONENTS ?? 1000)
/** Untimed provisions a freshly started service runs before a timed end-to-end run (BENCH_WARMUP). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200)
/** Which parts to run, comma-separated: enqueue, status, calls, bytes, e2e, latency, syncs, rss (default all). */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'enqueue,status,calls,bytes,e2e,latency,syncs,rss').split(','))

function spawnListening (args: string[], env: Record<string, string>): Promise<{ child: ChildProcess, url: string }> {
  // BENCH_CPU_PROF=<dir>: every process started here writes a CPU profile there (node --cpu-prof) when it exits.
  const prof = process.env.BENCH_CPU_PROF === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      const m = /LISTENING (\S+)/.exec(out) ?? /"url":"(http[^"]+)"/.exec(out)
      if (m?.[1] === undefined) return
      // Keep draining the child's output, but stop collecting it: the run must not measure our own parsing.
      child.stdout?.off('data', onData)
      child.stdout?.resume()
      resolve({ child, url: m[1] })
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => { reject(new Error(`${args.join(' ')} exited ${String(code)}: ${out.slice(-2000)}`)) })
  })
}

/** A COMPONENT_DESCRIPTOR of about 4 KB with three Airbyte components; `i` makes each request distinct. */
function descriptor (i: number, componentCount = 3): string {
  const dataProduct = benchDataProduct(`bench${i}`, componentCount)
  return stringify({ dataProduct, componentIdToProvision: dataProduct.components[0]?.id })
}

async function cannon (title: string, opts: autocannon.Options): Promise<autocannon.Result> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...opts })
  const non2xx = result.non2xx
  console.log(`${title.padEnd(46)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(4)} ms   p99 ${String(result.latency.p99).padStart(4)} ms   errors ${result.errors + non2xx}`)
  return result
}

/**
 * Every request carries a distinct descriptor (an identical one would be answered from the dedupe entry).
 * Bodies are made before the run so the load generator spends its CPU on sending, not on YAML.
 */
function varyingBody (count: number, format: 'yaml' | 'json'): autocannon.Options['setupClient'] {
  const text = (i: number): string => format === 'yaml' ? descriptor(i) : JSON.stringify(parse(descriptor(i)))
  const bodies = Array.from({ length: count }, (_, i) => JSON.stringify({ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: text(i) }))
  let n = 0
  return (client) => {
    const next = (): void => { client.setBody(bodies[n++ % bodies.length] ?? '') }
    next()
    client.on('response', next)
  }
}

const redis = await findOrStartRedis()
const prefix = `bench-${process.pid}`
const env = {
  REDIS_URL: redis.url,
  QUEUE_PREFIX: prefix,
  LOG_LEVEL: 'warn',
  PORT: '0',
  HOST: '127.0.0.1',
  // Same conditions as the bare baseline server: no caller checks, no per-caller limit (one load generator, one address).
  AUTH_MODE: 'none',
  RATE_LIMIT_MAX: '0',
  AIRBYTE_WORKSPACE_ID: '00000000-0000-4000-8000-000000000001',
  DESCRIPTOR_SECRET_FINANCE__ORDERS_DB_PASSWORD: 'bench-db-password',
  DESCRIPTOR_SECRET_FINANCE__SNOWFLAKE_PASSWORD: 'bench-warehouse-password'
}
const children: ChildProcess[] = []
try {
  console.log(`machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown cpu'} x${(await import('node:os')).cpus().length}, node ${process.version}, ${CONNECTIONS} connections, ${DURATION} s per run`)
  console.log(`descriptor size: ${Buffer.byteLength(descriptor(0))} bytes, 3 components`)

  const api = await spawnListening(['src/main.ts'], { ...env, ROLE: 'api', LOG_LEVEL: 'info' })
  const baseline = await spawnListening(['bench/baseline-server.ts'], { ...env, QUEUE_PREFIX: `${prefix}-baseline` })
  children.push(api.child, baseline.child)

  if (PARTS.has('enqueue')) {
    for (const format of ['yaml', 'json'] as const) {
      console.log(`\n-- enqueue, descriptor as ${format.toUpperCase()} --`)
      const ours = await cannon('POST /v1/provision', { url: `${api.url}/v1/provision`, method: 'POST', headers: { 'content-type': 'application/json' }, setupClient: varyingBody(10_000, format) })
      const base = await cannon('baseline: yaml.parse + queue.add', { url: `${baseline.url}/baseline/provision`, method: 'POST', headers: { 'content-type': 'application/json' }, setupClient: varyingBody(10_000, format) })
      console.log(`ratio ${(ours.requests.average / base.requests.average).toFixed(2)} of baseline (goal >= 0.95), p99 ${ours.latency.p99} ms (goal < 25 ms)`)
    }
  }
  if (PARTS.has('status')) {
    console.log('\n-- status --')
    const submitted = await fetch(`${api.url}/v1/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: descriptor(-1) }) })
    const token = await submitted.text()
    const status = await cannon('GET /v1/provision/{token}/status', { url: `${api.url}/v1/provision/${token}/status` })
    const bare = await cannon('baseline: one Redis GET', { url: `${baseline.url}/baseline/status/${token}` })
    console.log(`ratio ${(status.requests.average / bare.requests.average).toFixed(2)} of baseline (goal >= 0.50)`)
  }
  api.child.kill('SIGTERM')
  baseline.child.kill('SIGTERM')
  await deleteKeys(redis.url, prefix)

  const service = async (serviceEnv: Record<string, string>): Promise<{ child: ChildProcess, url: string }> => {
    const started = await spawnListening(['src/main.ts'], serviceEnv)
    children.push(started.child)
    return started
  }
  if (PARTS.has('calls')) {
    await callsPerProvision(service, env, redis.url, prefix)
    await deleteKeys(redis.url, `${prefix}-calls`)
  }
  if (PARTS.has('bytes')) await redisBytesPerDataProduct(service, env, [100, 300])

  const e2eEnv = { ...env, QUEUE_PREFIX: `${prefix}-e2e` }
  const oneComponent = (i: number): string => descriptor(i, 1)
  if (PARTS.has('e2e')) {
    console.log(`\n-- end to end: ${E2E_COMPONENTS} component provisions, zero-latency simulator, one process (ROLE=all) --`)
    const r = await endToEnd(service, e2eEnv, { title: 'zero latency', components: E2E_COMPONENTS, descriptor: oneComponent, offset: 0, warmup: WARMUP })
    console.log(`${E2E_COMPONENTS} components in ${r.seconds.toFixed(1)} s = ${r.perSecond.toFixed(1)} components/s (goal >= 150), ${r.failed} failed, ${r.callsPerComponent.toFixed(1)} calls each`)
    console.log(`service CPU ${r.cpuMsPerComponent.toFixed(1)} ms per component (user + system), i.e. at most ${(1000 / r.cpuMsPerComponent).toFixed(0)} components/s per core it has to itself`)
  }
  if (PARTS.has('latency')) {
    const count = Number(process.env.BENCH_LATENCY_COMPONENTS ?? 200)
    // WORKER_CONCURRENCY 8 is the default; 32 fills more of the wait, and spends the CPU the calls leave.
    for (const concurrency of (process.env.BENCH_LATENCY_CONCURRENCY ?? '8,32').split(',').map(Number)) {
      console.log(`\n-- end to end: ${count} component provisions, 50 ms per simulator call, worker concurrency ${concurrency} --`)
      const r = await endToEnd(service, e2eEnv, { title: '50 ms', components: count, latencyMs: 50, concurrency, descriptor: oneComponent, offset: 100_000 + concurrency * 1000, warmup: WARMUP })
      // With `concurrency` in flight, each slot spends (wall x concurrency / components) on one component.
      const perComponent = r.seconds * 1000 * concurrency / count
      const bound = r.callsPerComponent * 50
      console.log(`${count} components in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(1)}/s); ${perComponent.toFixed(0)} ms of a slot per component vs ${r.callsPerComponent.toFixed(1)} calls x 50 ms = ${bound.toFixed(0)} ms (goal within 1.5x: ${(perComponent / bound).toFixed(2)}x), ${r.failed} failed`)
    }
  }
  if (PARTS.has('syncs')) {
    console.log('\n-- end to end: 200 provisions with a 2 s sync each, worker concurrency 4 --')
    const r = await endToEnd(service, e2eEnv, { title: 'syncs', components: 200, syncMs: 2000, concurrency: 4, descriptor: oneComponent, offset: 200_000 })
    console.log(`200 syncs of 2 s in ${r.seconds.toFixed(1)} s (goal <= 8 s), ${r.failed} failed`)
  }
  if (PARTS.has('rss')) {
    const count = Number(process.env.BENCH_RSS_TASKS ?? 10_000)
    console.log(`\n-- service RSS over ${count} tasks (zero latency) --`)
    const r = await endToEnd(service, e2eEnv, { title: 'rss', components: count, rssAfter: 1000, descriptor: oneComponent, offset: 300_000 })
    const [first, last] = [r.rss[0], r.rss[r.rss.length - 1]]
    if (first !== undefined && last !== undefined) {
      console.log(`RSS after ${first[0]} tasks: ${first[1]} MB; after ${last[0]}: ${last[1]} MB (${(100 * (last[1] - first[1]) / first[1]).toFixed(1)} %, goal within 10 %); ${r.perSecond.toFixed(1)} tasks/s, ${r.failed} failed`)
      // V8 sizes its heap to the allocation rate during the first thousands of tasks: the curve tells warm-up from growth.
      console.log(`RSS every 1,000 tasks (MB): ${r.rss.map(([, mb]) => mb).join(' ')}`)
      const half = r.rss[Math.floor(r.rss.length / 2) - 1]
      if (half !== undefined) console.log(`after ${half[0]} tasks: ${half[1]} MB; after ${last[0]}: ${last[1]} MB (${(100 * (last[1] - half[1]) / half[1]).toFixed(1)} %)`)
    }
  }
  await deleteKeys(redis.url, `${prefix}-e2e`)
} finally {
  // Once each: a second SIGTERM would kill a child mid-shutdown (and lose its CPU profile).
  for (const child of children) if (!child.killed) child.kill('SIGTERM')
  await deleteKeys(redis.url, prefix)
  await redis.stop()
}
