/**
 * Section 2 of issue 5, end to end: a descriptor puts a secret into a non-secret field (`host`), the Airbyte
 * simulator stores it in clear and echoes request values back in its error replies in many shapes (quoted,
 * escaped, encoded, re-spaced, cut short), and the service's own client secret is echoed by the token endpoint.
 * After provision, validation, reverse provisioning and status polls, no reply, no Redis key under the prefix
 * (any type, BullMQ's included) and no log line may hold any secret in any of those shapes.
 */
import t from 'tap'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { airbyteRequest, getJson, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'

const DB_PASSWORD = 'e2e-db-password-4711'
const WAREHOUSE_PASSWORD = 'e2e-warehouse-password-4712'
const API_TOKEN = 'cashflow-api-token-9931'
const CLIENT_SECRET = 'sim-secret-client-0815'
const SECRETS = [DB_PASSWORD, WAREHOUSE_PASSWORD, API_TOKEN, CLIENT_SECRET]

// Two stores: the descriptor one (a data-product-only secret in a file) and the service's own credential file.
const root = mkdtempSync(join(tmpdir(), 'secret-readback-'))
mkdirSync(join(root, 'descriptor', 'finance', 'cashflow'), { recursive: true })
mkdirSync(join(root, 'service'), { recursive: true })
writeFileSync(join(root, 'descriptor', 'finance', 'cashflow', 'orders-api-token'), `${API_TOKEN}\n`)
writeFileSync(join(root, 'service', 'airbyte-client-secret'), `${CLIENT_SECRET}\n`)

const logLines: string[] = []
const stack = await startStack(t, {
  sim: { clientSecret: CLIENT_SECRET },
  env: {
    LOG_LEVEL: 'debug',
    AIRBYTE_CALL_RETRIES: '0',
    AIRBYTE_CLIENT_SECRET: '',
    AIRBYTE_CLIENT_SECRET_FILE: join(root, 'service', 'airbyte-client-secret'),
    DESCRIPTOR_SECRETS_DIR: join(root, 'descriptor')
  },
  logDestination: { write: (line: string) => { logLines.push(line) } }
})
const { base, sim } = stack
const replies: string[] = []

async function post (path: string, body: unknown): Promise<{ status: number, text: string }> {
  const res = await postJson(`${base}${path}`, body)
  replies.push(res.text)
  return res
}

async function poll (path: string): Promise<any> {
  const body = await waitForStatus(`${base}${path}`, { deadlineMs: 60_000 })
  replies.push(JSON.stringify(body))
  // One more poll of the finished task, as an orchestrator would.
  replies.push(JSON.stringify((await getJson(`${base}${path}`)).body))
  return body
}

/** The attack: secrets in `host` (stored in clear by Airbyte) and in a secret field, one granted to this data product only. */
const attack = (name: string, extra: (s: any) => void = () => {}): Record<string, unknown> => airbyteRequest(name, (s) => {
  s.source.connectionConfiguration.host = '${secret:orders-db-password}'
  s.source.connectionConfiguration.api_token = '${secret:orders-api-token}'
  s.destination.connectionConfiguration.host = '${secret:snowflake-password}'
  extra(s)
})

const echoed = (): number => sim.requests.filter((r) => r.status >= 400).length

t.test('provision with secrets in clear fields, through upstream errors that echo them, completes', async (t) => {
  sim.faults.echoNext = [
    { status: 500, method: 'POST', path: /\/applications\/token$/ },
    { status: 500, method: 'POST', path: /\/sources$/ },
    { status: 503, method: 'POST', path: /\/destinations$/, format: 'text' },
    { status: 500, method: 'GET', path: /\/streams$/ },
    // Provision lists the workspace's sources to find its own by name (it no longer reads the workspace itself).
    { status: 500, method: 'GET', path: /\/sources$/, authorization: true }
  ]
  const res = await post('/v1/provision', attack('attack'))
  t.equal(res.status, 202, res.text)
  const status = await poll(`/v1/provision/${res.text}/status`)
  t.equal(status.status, 'COMPLETED', String(status.result))
  t.same(sim.faults.echoNext, [], 'every echo fault was served')
  t.ok(echoed() >= 4, 'the simulator answered with echoing errors')
  t.match(JSON.stringify(status.logs), /\[redacted\]/, 'the echoes reached the task log, scrubbed')
  t.equal([...sim.state.sources.values()].find((s) => s.name === 'attack-source')?.configuration.host, DB_PASSWORD, 'Airbyte holds the secret in clear')
})

t.test('a secret the target hands back as data (a stream named after it) is not stored either', async (t) => {
  const res = await post('/v1/provision', attack('as-data', (s) => { s.source.connectionConfiguration.tables = ['${secret:orders-db-password}', 'orders'] }))
  const status = await poll(`/v1/provision/${res.text}/status`)
  t.equal(status.status, 'COMPLETED', String(status.result))
  t.ok([...sim.state.connections.values()].some((c) => c.configurations.streams.some((st) => st.name === DB_PASSWORD)), 'Airbyte made a stream of it')
})

t.test('an upstream rejection quoting the configuration fails the task with a scrubbed result', async (t) => {
  sim.faults.echoNext = [{ status: 422, method: 'POST', path: /\/destinations$/, shapes: ['quoted', 'truncated'] }]
  const res = await post('/v1/provision', attack('rejected'))
  const status = await poll(`/v1/provision/${res.text}/status`)
  t.equal(status.status, 'FAILED')
  t.match(status.result, /Airbyte rejected POST \/destinations: 422 unprocessable-entity: Invalid configuration: .*quoted: "\[redacted\]".*truncated: \[redacted\]\.\.\./)
})

t.test('validation (sync and async) checks grants and echoes nothing', async (t) => {
  const sync = await post('/v1/validate', attack('attack'))
  t.equal(sync.status, 200, sync.text)
  t.equal(JSON.parse(sync.text).valid, true)

  const other = await post('/v1/validate', attack('attack', (s) => { s.source.connectionConfiguration.password = '${secret:payroll-password}' }))
  const otherBody = JSON.parse(other.text)
  t.equal(otherBody.valid, false)
  t.match(otherBody.error.errors.join('\n'), 'dataProduct.components.0.specific.source.connectionConfiguration.password: secret "payroll-password" is not granted to data product urn:dmb:dp:finance:cashflow:0 (domain finance)')
  const refused = await post('/v1/provision', attack('refused', (s) => { s.source.connectionConfiguration.password = '${secret:payroll-password}' }))
  t.equal(refused.status, 400)
  t.match(refused.text, /not granted to data product urn:dmb:dp:finance:cashflow:0/)
  t.match(refused.text, /DESCRIPTOR_SECRETS_DIR\/finance\/cashflow\/payroll-password/)

  sim.faults.echoNext = [{ status: 422, method: 'GET', path: /\/streams$/ }]
  const async = await post('/v2/validate', attack('attack', (s) => { s.connection.streams = [{ name: 'orders' }] }))
  t.equal(async.status, 202, async.text)
  const status = await poll(`/v2/validate/${async.text}/status`)
  t.equal(status.status, 'COMPLETED')
  t.same(sim.faults.echoNext, [], 'the stream check hit the echoing error')
})

t.test('reverse provisioning hands back placeholders, not the secrets Airbyte holds in clear', async (t) => {
  const withDomain = await post('/v1/reverse-provisioning', {
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0',
    environment: 'development',
    params: { connectionName: 'attack-connection' },
    catalogInfo: { spec: { domain: 'finance', system: 'urn:dmb:dp:finance:cashflow:0' } }
  })
  const status = await poll(`/v1/reverse-provisioning/${withDomain.text}/status`)
  t.equal(status.status, 'COMPLETED', JSON.stringify(status.logs))
  t.equal(status.updates['spec.mesh.specific.source.connectionConfiguration'].host, '${secret:orders-db-password}')
  t.equal(status.updates['spec.mesh.specific.destination.connectionConfiguration'].host, '${secret:snowflake-password}')

  const noScope = await post('/v1/reverse-provisioning', {
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: { connectionName: 'attack-connection' }
  })
  const unscoped = await poll(`/v1/reverse-provisioning/${noScope.text}/status`)
  t.equal(unscoped.status, 'COMPLETED')
  t.equal(unscoped.updates['spec.mesh.specific.source.connectionConfiguration'].host, '${secret:orders-db-password}', 'without a scope every secret counts')

  sim.faults.echoNext = [{ status: 500, method: 'GET', path: /\/sources\/[^/]+$/ }]
  const failing = await post('/v1/reverse-provisioning', {
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: { connectionName: 'attack-connection' }, catalogInfo: {}
  })
  const failed = await poll(`/v1/reverse-provisioning/${failing.text}/status`)
  t.equal(failed.status, 'FAILED')
  t.match(JSON.stringify(failed), /\[redacted\]/, 'the echoed stored configuration was scrubbed')
})

/** Base64 characters fixed by `value` alone at each byte alignment (as inside `user:secret`). */
function base64Cores (value: string): string[] {
  const bytes = Buffer.from(value, 'utf8')
  return [0, 1, 2].map((k) => {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64')
    return encoded.slice([0, 2, 3][k], Math.floor(((k + bytes.length) * 8) / 6))
  })
}

/** Every shape the test looks for, lower-cased and without whitespace (the haystack is normalized the same way). */
function forms (secret: string): Record<string, string> {
  const out: Record<string, string> = {
    raw: secret,
    'json-escaped twice': JSON.stringify(JSON.stringify(secret)).slice(2, -2),
    'url-encoded': encodeURIComponent(secret),
    hex: Buffer.from(secret).toString('hex'),
    // Cut short: any 10-character prefix or suffix is a leak.
    prefix: secret.slice(0, 10),
    suffix: secret.slice(-10)
  }
  base64Cores(secret).forEach((core, k) => { out[`base64 alignment ${k}`] = core; out[`base64url alignment ${k}`] = core.replace(/\+/g, '-').replace(/\//g, '_') })
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.toLowerCase().replace(/\s+/g, '')]))
}

function leaks (where: string, text: string): string[] {
  const hay = text.toLowerCase().replace(/\s+/g, '')
  const found: string[] = []
  for (const secret of SECRETS) {
    for (const [name, needle] of Object.entries(forms(secret))) {
      if (hay.includes(needle)) found.push(`${where}: ${secret} as ${name}`)
    }
  }
  return found
}

async function dumpRedis (): Promise<Array<[string, string]>> {
  const redis = new Redis(stack.redis.url)
  try {
    const out: Array<[string, string]> = []
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', new RedisKeys(stack.prefix).everyKey, 'COUNT', 500)
      cursor = next
      for (const key of keys) {
        const type = await redis.type(key)
        const value = type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? await redis.hgetall(key)
            : type === 'list'
              ? await redis.lrange(key, 0, -1)
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, 0, -1, 'WITHSCORES')
                  : type === 'stream' ? await redis.xrange(key, '-', '+') : `unread type ${type}`
        out.push([`${type} ${key}`, JSON.stringify(value)])
      }
    } while (cursor !== '0')
    return out
  } finally {
    redis.disconnect()
  }
}

t.test('no reply, no Redis key of any type and no log line holds any secret in any shape', async (t) => {
  const keys = await dumpRedis()
  t.ok(keys.some(([k]) => k.startsWith('stream ')), 'BullMQ event streams were searched')
  t.ok(keys.some(([k]) => k.startsWith('hash ') && /:\d+$|:[0-9a-f-]{36}$/.test(k)), 'job and task hashes were searched')
  t.ok(logLines.length > 20, `${logLines.length} log lines were captured`)
  t.ok(logLines.some((l) => l.includes('"role":"api"')) && logLines.some((l) => l.includes('"role":"worker"')), 'both roles log through the same logger')
  t.ok(replies.length > 10, `${replies.length} replies were captured`)
  t.ok(sim.echoedAuthorizations.length > 0, 'a minted access token was echoed back by the simulator')
  // The minted token is a credential too: search for it (without its "Bearer " scheme) like the others.
  SECRETS.push(...sim.echoedAuthorizations.map((h) => h.replace(/^\S+\s+/, '')))
  const found = [
    ...replies.flatMap((r, i) => leaks(`reply ${i}`, r)),
    ...keys.flatMap(([key, value]) => leaks(`redis ${key}`, value)),
    ...logLines.flatMap((l, i) => leaks(`log line ${i}`, l))
  ]
  t.same(found, [], 'nothing secret anywhere')
})
