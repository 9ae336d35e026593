import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { fingerprintLabel, tokenDigest } from '../../src/auth/bearer-token-file.js'
import { airbyteRequest, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { eventually, spawnService } from '../helpers/service-process.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'

// The service as a process (API and worker), so every line both roles log is captured.
const ORCHESTRATOR = 'e2e-orchestrator-token-5f1c9a7e2b'
const BARE = 'e2e-bare-token-without-label-8d3e0c'
const file = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens')
writeFileSync(file, `orchestrator ${ORCHESTRATOR}\n${BARE}\n`)

const stack = await startStack(t, {
  inProcess: false,
  sim: { syncDurationMs: 1500 },
  env: { AUTH_MODE: 'bearer', AUTH_BEARER_TOKENS_FILE: file, LOG_LEVEL: 'info' }
})
const service = spawnService(stack.env)
t.teardown(async () => { service.child.kill('SIGTERM'); await service.exited })
await eventually('the service has started', () => service.output().includes('"tech adapter started"'))
const started = service.output().split('\n').find(line => line.includes('"tech adapter started"')) ?? '{}'
const base = (JSON.parse(started) as { url: string }).url
const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
const logLines = (): Array<Record<string, unknown>> => service.output().split('\n')
  .filter(line => line.startsWith('{')).map(line => JSON.parse(line) as Record<string, unknown>)

async function redisDump (prefix: string): Promise<string> {
  const client = new Redis(stack.redis.url)
  try {
    const parts: string[] = []
    for (const key of await client.keys(new RedisKeys(prefix).everyKey)) {
      const type = await client.type(key)
      parts.push(key)
      if (type === 'string') parts.push(String(await client.get(key)))
      else if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)))
      else if (type === 'list') parts.push(...await client.lrange(key, 0, -1))
      else if (type === 'zset') parts.push(...await client.zrange(key, 0, -1))
      else if (type === 'set') parts.push(...await client.smembers(key))
      else if (type === 'stream') parts.push(JSON.stringify(await client.xrange(key, '-', '+')))
    }
    return parts.join('\n')
  } finally {
    client.disconnect()
  }
}

t.test('the caller is recorded with each task and in its log lines; its token never is', async t => {
  const request = airbyteRequest('identity')
  const first = await postJson(`${base}/v1/provision`, request, auth(ORCHESTRATOR))
  t.equal(first.status, 202, first.text)
  const again = await postJson(`${base}/v1/provision`, request, auth(ORCHESTRATOR))
  t.equal(again.text, first.text, 'the same caller\'s identical request in flight gets the same task')
  const other = await postJson(`${base}/v1/provision`, request, auth(BARE))
  t.equal(other.status, 202)
  t.not(other.text, first.text, 'another caller\'s identical request is its own task, not someone else\'s token')

  for (const token of [first.text, other.text]) {
    const status = await waitForStatus(`${base}/v1/provision/${token}/status`, { deadlineMs: 30_000, headers: auth(ORCHESTRATOR) })
    t.equal(status.status, 'COMPLETED', status.result)
  }

  const client = new Redis(stack.redis.url)
  t.teardown(() => { client.disconnect() })
  const bareLabel = fingerprintLabel(tokenDigest(BARE))
  t.equal(await client.hget(new RedisKeys(stack.prefix).task(first.text), 'caller'), 'orchestrator', 'task hash: the token label')
  t.equal(await client.hget(new RedisKeys(stack.prefix).task(other.text), 'caller'), bareLabel, 'task hash: a bare token\'s fingerprint label')
  const job = JSON.parse(String(await client.hget(new RedisKeys(stack.prefix).bullJob(first.text), 'data'))) as { caller?: string }
  t.equal(job.caller, 'orchestrator', 'job data')

  const lines = logLines()
  const apiLines = lines.filter(line => line.msg === 'request completed' && line.caller === 'orchestrator')
  t.ok(apiLines.length >= 2, 'the API\'s request lines carry the caller')
  for (const [token, caller] of [[first.text, 'orchestrator'], [other.text, bareLabel]] as const) {
    const workerLines = lines.filter(line => line.task === token)
    t.ok(workerLines.length > 0, `the worker logged task ${token}`)
    t.ok(workerLines.every(line => line.caller === caller), `every worker line of the task names its caller ${caller}`)
  }

  for (const secret of [ORCHESTRATOR, BARE]) {
    t.notOk(service.output().includes(secret), 'no log line holds a token')
    t.notOk((await redisDump(stack.prefix)).includes(secret), 'no Redis key or value holds a token')
  }
})
