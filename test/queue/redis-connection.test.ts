import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'
import { loadConfig } from '../../src/config.js'
import type { RedisSettings } from '../../src/config-redis.js'
import { createRedisConnection, reconnectDelayMs, type RedisClient, type RedisUse } from '../../src/queue/redis-connection.js'
import { freePort, spawnRedis, waitForPing } from '../helpers/redis-processes.js'

/** The options a connection was made with; it is dropped at once (port 1 refuses). */
function optionsOf (settings: RedisSettings, use: RedisUse): { client: RedisClient, options: any } {
  const client = createRedisConnection(settings, use)
  client.on('error', () => {})
  client.disconnect()
  return { client, options: client.options }
}

t.test('one reconnect policy: 200 ms more per attempt, at most 2 s', async t => {
  t.same([1, 2, 5, 10, 50].map(reconnectDelayMs), [200, 400, 1000, 2000, 2000])
})

t.test('API connections fail fast; worker connections wait out an outage (BullMQ needs maxRetriesPerRequest null)', async t => {
  const settings: RedisSettings = { mode: 'standalone', url: 'redis://127.0.0.1:1' }
  t.match(optionsOf(settings, 'api').options, { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true })
  const worker = optionsOf(settings, 'worker').options
  t.equal(worker.maxRetriesPerRequest, null)
  t.equal(worker.enableOfflineQueue, true, 'commands queue while Redis is away')
  t.equal(worker.reconnectOnError(new Error('READONLY You can\'t write against a read only replica.')), 2, 'a demoted primary: reconnect and resend')
  t.equal(worker.reconnectOnError(new Error('ERR unknown command')), false)
})

t.test('Sentinel and Cluster get the same per-use options, credentials and TLS where ioredis expects them', async t => {
  const sentinel = optionsOf({ mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'primary', password: 'data-pass-1', sentinelPassword: 'sentinel-pass-2', tls: { ca: 'PEM' } }, 'worker')
  t.ok(sentinel.client instanceof Redis)
  t.match(sentinel.options, { sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'primary', role: 'master', password: 'data-pass-1', sentinelPassword: 'sentinel-pass-2', maxRetriesPerRequest: null, enableTLSForSentinelMode: true, tls: { ca: 'PEM' }, sentinelTLS: { ca: 'PEM' } })
  t.notOk(sentinel.options.failoverDetector, 'no failoverDetector (it ends a reconnecting connection for good)')

  const cluster = optionsOf({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }], password: 'data-pass-1' }, 'api')
  t.ok(cluster.client instanceof Cluster)
  t.match(cluster.options, { enableOfflineQueue: false, enableAutoPipelining: true, redisOptions: { password: 'data-pass-1', maxRetriesPerRequest: 1 } })
  t.equal(optionsOf({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }] }, 'worker').options.redisOptions.maxRetriesPerRequest, null)
})

t.test('rediss:// is verified against REDIS_TLS_CA_FILE, for real', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  // A self-signed certificate for localhost: only a client given it as CA may trust the server.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'ca.pem'),
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' })
  const port = await freePort()
  const plainPort = await freePort()
  const server = await spawnRedis(port, ['--port', String(plainPort), '--bind', '127.0.0.1', '--tls-port', String(port), '--tls-cert-file', join(dir, 'ca.pem'),
    '--tls-key-file', join(dir, 'key.pem'), '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--dir', dir])
  t.teardown(async () => { await server.kill() })
  await waitForPing(`redis://127.0.0.1:${plainPort}`)

  const trusted = createRedisConnection(loadConfig({ REDIS_URL: `rediss://localhost:${port}`, REDIS_TLS_CA_FILE: join(dir, 'ca.pem') }).redis, 'worker')
  t.teardown(() => { trusted.disconnect() })
  t.equal(await trusted.ping(), 'PONG', 'the CA file verifies the server')
  t.equal((trusted.options as { tls?: { ca?: string } }).tls?.ca, readFileSync(join(dir, 'ca.pem'), 'utf8'))

  const untrusting = createRedisConnection(loadConfig({ REDIS_URL: `rediss://localhost:${port}` }).redis, 'api')
  t.teardown(() => { untrusting.disconnect() })
  const refusal = await new Promise<Error>((resolve, reject) => {
    untrusting.once('error', resolve)
    untrusting.once('ready', () => { reject(new Error('connected without trusting the certificate')) })
  })
  t.match(refusal.message, /self.signed|unable to verify|certificate/i, 'without it the system CAs refuse a self-signed server')
})
