/**
 * `npx tsx bench/hostile-descriptors.ts`: what hostile descriptors cost (figures, not a test). For each input:
 *  - parse ms: parseYamlSafely on this thread (the CPU cost of the parse itself, limits as in the column);
 *  - request ms, max event-loop delay and slowest /health/live reply while POST /v1/provision runs on a real
 *    port with the app's pool (what a liveness probe sees).
 * Run twice: with the limits off (everything huge) and with the defaults. Needs Redis (REDIS_URL, 127.0.0.1:6379
 * or a private redis-server). BENCH_CASES=name,name picks cases.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { DescriptorInvalidError } from '../src/errors.js'
import { parseYamlSafely } from '../src/descriptor/yaml-parse.js'
import { createHandlerRegistry } from '../src/provisioner/handler-set.js'
import { createSecretStore } from '../src/secrets/secret-store.js'
import { findOrStartRedis } from '../src/sandbox/local-redis.js'
import { deleteKeys } from '../test/helpers/redis-server.js'

const MIB = 1024 * 1024
const LIMITS_OFF = { MAX_DESCRIPTOR_BYTES: String(64 * MIB), MAX_DESCRIPTOR_NODES: '100000000', MAX_KEYS_PER_MAPPING: '10000000', DESCRIPTOR_PARSE_TIMEOUT_MS: '600000' }
const DEFAULTS = {}

const keysYaml = (n: number): string => Array.from({ length: n }, (_, i) => `key${i}: v`).join('\n') + '\n'
const keysJson = (n: number): string => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, 'v'])))
// A mapping, its key, the list and n - 3 items: n nodes in two bytes each.
const flowList = (n: number): string => `list: [${Array(n - 3).fill(1).join(',')}]\n`
const listYaml = (n: number): string => `list:\n${Array.from({ length: n - 3 }, (_, i) => `  - item${i}`).join('\n')}\n`
const nested = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`
const anchors = (n: number): string => Array.from({ length: n }, (_, i) => `- {a: &a${i} value-${i}, b: *a${i}}`).join('\n') + '\n'
// Under DESCRIPTOR_INLINE_MAX_BYTES, so parsed on the event loop: aliases that expand to about `nodes` nodes.
const inlineExpansion = (nodes: number): string => {
  const per = Math.floor(Math.sqrt(nodes))
  return `base: &b [${Array(per).fill(1).join(',')}]\nrows: &r [${Array(Math.min(per, 1500)).fill('*b').join(',')}]\n`
}
const bomb = (levels: number): string => {
  const lines = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]']
  for (let i = 1; i < levels; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`)
  return lines.join('\n') + '\n'
}
const components = (n: number): string => JSON.stringify({
  id: 'urn:dmb:dp:finance:cashflow:0',
  name: 'CashFlow',
  kind: 'dataproduct',
  domain: 'finance',
  version: '0.2.0',
  environment: 'development',
  dataProductOwner: 'user:jane.doe_company.com',
  devGroup: 'group:datameshplatform',
  components: Array.from({ length: n }, (_, i) => ({ id: `urn:dmb:cmp:finance:cashflow:0:dbt-${i}`, name: `dbt-${i}`, kind: 'workload', useCaseTemplateId: 'urn:dmb:utm:dbt-standard:0.0.0' }))
})

interface Case { name: string, kind?: string, text: () => string }
const CASES: Case[] = [
  { name: '40,000-key mapping (YAML)', text: () => keysYaml(40_000) },
  { name: '40,000-key mapping (JSON)', text: () => keysJson(40_000) },
  { name: '10,000 keys: at MAX_KEYS_PER_MAPPING', text: () => keysYaml(10_000) },
  { name: '10,001 keys: above it', text: () => keysYaml(10_001) },
  { name: '200,000 nodes (YAML): at MAX_DESCRIPTOR_NODES', text: () => flowList(200_000) },
  { name: '200,001 nodes (YAML): above it', text: () => flowList(200_001) },
  { name: 'aliases expanding to ~200,000 nodes in a small (inline) document', text: () => inlineExpansion(190_000) },
  { name: '20,000 anchors + 20,000 aliases', text: () => anchors(20_000) },
  { name: 'alias bomb, 10 levels', text: () => bomb(10) },
  { name: 'nesting 64 levels: at the depth limit', text: () => nested(64) },
  { name: 'nesting 65 levels: above it', text: () => nested(65) },
  { name: '1 MiB string: at MAX_DESCRIPTOR_BYTES', text: () => `a: ${'x'.repeat(MIB - 4)}\n` },
  { name: '1 MiB + 1 string: above it', text: () => `a: ${'x'.repeat(MIB - 3)}\n` },
  { name: '12,000 components of other adapters (JSON)', kind: 'DATAPRODUCT_DESCRIPTOR', text: () => components(12_000) },
  { name: '~1 MiB YAML list of 72,000 scalars (legal under defaults)', text: () => listYaml(72_000) }
]

const picked = process.env.BENCH_CASES?.split(',')
const redis = await findOrStartRedis()
const prefix = `bench-hostile-${process.pid}`

function parseMs (text: string, env: Record<string, string>): { ms: number, outcome: string } {
  const limits = loadConfig({ ...env }).descriptorLimits
  const started = performance.now()
  let outcome = 'parsed'
  try {
    parseYamlSafely(text, { field: 'descriptor', ...limits })
  } catch (err) {
    outcome = err instanceof DescriptorInvalidError ? `refused: ${err.problems[0]?.message.slice(0, 70) ?? ''}` : `error: ${String(err)}`
  }
  return { ms: performance.now() - started, outcome }
}

async function appWith (env: Record<string, string>): Promise<{ app: FastifyInstance, base: string }> {
  const config = loadConfig({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', AUTH_MODE: 'none', RATE_LIMIT_MAX: '0', LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0', ...env })
  const app = await buildApp({ config, registry: createHandlerRegistry(config), secrets: createSecretStore({}), logger: false })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  // Start the pool's threads before measuring.
  await fetch(`${base}/v1/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: `a: ${'x'.repeat(8000)}` }) })
  return { app, base }
}

async function request (base: string, c: Case, text: string): Promise<{ ms: number, status: number, loopMaxMs: number, liveMaxMs: number }> {
  const payload = JSON.stringify({ descriptorKind: c.kind ?? 'COMPONENT_DESCRIPTOR', descriptor: text })
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  histogram.enable()
  const state = { done: false, liveMaxMs: 0 }
  const poll = (async () => {
    while (!state.done) {
      const started = performance.now()
      await (await fetch(`${base}/health/live`)).text()
      state.liveMaxMs = Math.max(state.liveMaxMs, performance.now() - started)
    }
  })()
  const started = performance.now()
  const res = await fetch(`${base}/v1/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload })
  await res.text()
  const ms = performance.now() - started
  state.done = true
  await poll
  histogram.disable()
  return { ms, status: res.status, loopMaxMs: histogram.max / 1e6, liveMaxMs: state.liveMaxMs }
}

for (const [label, env] of [['limits off', LIMITS_OFF], ['defaults', DEFAULTS]] as const) {
  console.log(`\n## ${label}`)
  console.log('case | bytes | parse ms (this thread) | outcome | request ms | HTTP | max event-loop delay ms | slowest /health/live ms')
  const { app, base } = await appWith(env)
  for (const c of CASES) {
    if (picked !== undefined && !picked.some(p => c.name.includes(p))) continue
    const text = c.text()
    const parsed = c.kind === undefined ? parseMs(text, env) : { ms: NaN, outcome: '(validator)' }
    const r = await request(base, c, text)
    console.log([c.name, Buffer.byteLength(text), parsed.ms.toFixed(0), parsed.outcome, r.ms.toFixed(0), r.status, r.loopMaxMs.toFixed(1), r.liveMaxMs.toFixed(1)].join(' | '))
  }
  await app.close()
}
await deleteKeys(redis.url, prefix)
await redis.stop()
