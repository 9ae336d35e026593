/**
 * `npm run bench`: prints throughput and latency figures (not a test). Needs Redis (REDIS_URL, or
 * 127.0.0.1:6379, or a private redis-server). Everything runs on this machine:
 *  1. POST /v1/provision with a ~4 KB 3-component COMPONENT_DESCRIPTOR vs a bare Fastify route doing
 *     yaml.parse + queue.add on the same body (32 connections).
 *  2. GET /v1/provision/{token}/status vs a bare Fastify route doing one Redis GET.
 *  3. Calls per provision and Redis bytes per data product (bench-provision-costs.ts).
 *  4. 1,000 component provisions end to end against the zero-latency Airbyte simulator (API and worker as
 *     separate processes): wall time, components/s, RSS of both at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { parse, stringify } from 'yaml'
import { startAirbyteSimulator } from '../src/sandbox/airbyte/airbyte-simulator.js'
import { findOrStartRedis } from '../src/sandbox/local-redis.js'
import { deleteKeys } from '../test/helpers/redis-server.js'
import { callsPerProvision, redisBytesPerDataProduct } from './bench-provision-costs.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32)
const DURATION = Number(process.env.BENCH_SECONDS ?? 10)
const E2E_COMPONENTS = Number(process.env.BENCH_COMPONENTS ?? 1000)
/** Which parts to run, comma-separated: enqueue, status, calls, bytes, e2e (default all). */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'enqueue,status,calls,bytes,e2e').split(','))

function spawnListening (args: string[], env: Record<string, string>): Promise<{ child: ChildProcess, url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
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

function rssMb (pid: number | undefined): string {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return `${Math.round(Number(kb) / 1024)} MB`
  } catch {
    return 'n/a'
  }
}

/** A COMPONENT_DESCRIPTOR of about 4 KB with three Airbyte components; `i` makes each request distinct. */
function descriptor (i: number, componentCount = 3): string {
  const components = Array.from({ length: componentCount }, (_, c) => ({
    id: `urn:dmb:cmp:finance:bench${i}:0:ingest-${c}`,
    name: `Bench ingestion ${c} of data product ${i}`,
    kind: 'workload',
    version: '0.0.1',
    infrastructureTemplateId: 'urn:dmb:itm:provisioner:0',
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0',
    dependsOn: [],
    specific: {
      source: { name: `bench-${i}-${c}-source`, connectionConfiguration: { sourceType: 'postgres', host: 'db.internal', port: 5432, database: 'orders', username: 'reader', password: '${secret:orders-db-password}' } },
      destination: { name: `bench-${i}-${c}-destination`, connectionConfiguration: { destinationType: 'snowflake', host: 'acme.snowflakecomputing.com', database: 'CASHFLOW', schema: 'ORDERS', username: 'loader', password: '${secret:snowflake-password}' } },
      connection: { name: `bench-${i}-${c}-connection`, schedule: { scheduleType: 'cron', cronExpression: '0 0 2 * * ?' }, namespaceDefinition: 'custom_format', namespaceFormat: 'cashflow_0', streams: [{ name: 'orders', syncMode: 'incremental_deduped_history', cursorField: ['updated_at'], primaryKey: [['id']] }, { name: 'users', syncMode: 'full_refresh_overwrite' }] }
    }
  }))
  return stringify({
    dataProduct: {
      id: `urn:dmb:dp:finance:bench${i}:0`,
      name: `Bench ${i}`,
      description: 'A data product for the benchmark',
      kind: 'dataproduct',
      domain: 'finance',
      version: '0.2.0',
      environment: 'development',
      dataProductOwner: 'user:jane.doe_company.com',
      devGroup: 'group:datameshplatform',
      tags: [],
      specific: {},
      components
    },
    componentIdToProvision: components[0]?.id
  })
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
      console.log(`ratio ${(ours.requests.average / base.requests.average).toFixed(2)} of baseline (goal >= 0.70), p99 ${ours.latency.p99} ms (goal < 25 ms)`)
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

  if (PARTS.has('e2e')) {
    console.log(`\n-- end to end: ${E2E_COMPONENTS} component provisions, zero-latency simulator --`)
    const sim = await startAirbyteSimulator({ syncDurationMs: 0 })
    const e2eEnv = {
      ...env,
      QUEUE_PREFIX: `${prefix}-e2e`,
      AIRBYTE_API_URL: sim.url,
      AIRBYTE_AUTH: 'client_credentials',
      AIRBYTE_CLIENT_ID: 'sim-client',
      AIRBYTE_CLIENT_SECRET: 'sim-secret',
      AIRBYTE_WORKSPACE_ID: sim.workspaceId,
      AIRBYTE_SYNC_POLL_MIN_MS: '20',
      AIRBYTE_SYNC_POLL_MAX_MS: '100',
      WORKER_CONCURRENCY: '32',
      AIRBYTE_MAX_CONCURRENT_REQUESTS: '64'
    }
    const e2eApi = await spawnListening(['src/main.ts'], { ...e2eEnv, ROLE: 'api', LOG_LEVEL: 'info' })
    // BENCH_CPU_PROF=<dir>: the worker writes a CPU profile there (node --cpu-prof) when it exits.
    const prof = process.env.BENCH_CPU_PROF === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
    const worker = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...e2eEnv, ROLE: 'worker' }, stdio: 'inherit' })
    children.push(e2eApi.child, worker)
    const started = Date.now()
    const tokens: string[] = []
    for (let i = 0; i < E2E_COMPONENTS; i += 50) {
      tokens.push(...await Promise.all(Array.from({ length: Math.min(50, E2E_COMPONENTS - i) }, async (_, k) => {
        const res = await fetch(`${e2eApi.url}/v1/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: descriptor(i + k, 1) }) })
        return await res.text()
      })))
    }
    const pending = new Set(tokens)
    let failed = 0
    while (pending.size > 0) {
      for (const t of [...pending]) {
        const body = await (await fetch(`${e2eApi.url}/v1/provision/${t}/status`)).json() as { status: string }
        if (body.status !== 'RUNNING') { pending.delete(t); if (body.status !== 'COMPLETED') failed++ }
      }
      if (pending.size > 0) await new Promise(resolve => setTimeout(resolve, 200))
    }
    const seconds = (Date.now() - started) / 1000
    console.log(`${E2E_COMPONENTS} components in ${seconds.toFixed(1)} s = ${(E2E_COMPONENTS / seconds).toFixed(1)} components/s, ${failed} failed; connections in the simulator: ${sim.state.connections.size}`)
    console.log(`RSS at the end: API ${rssMb(e2eApi.child.pid)}, worker ${rssMb(worker.pid)}`)
    e2eApi.child.kill('SIGTERM')
    worker.kill('SIGTERM')
    await sim.close()
    await deleteKeys(redis.url, `${prefix}-e2e`)
  }
} finally {
  // Once each: a second SIGTERM would kill a child mid-shutdown (and lose its CPU profile).
  for (const child of children) if (!child.killed) child.kill('SIGTERM')
  await deleteKeys(redis.url, prefix)
  await redis.stop()
}
