import t, { type Test } from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config.js'
import { describeRedis, parseHostPortList } from '../src/config-redis.js'
import { createSecretStore } from '../src/secrets/secret-store.js'
import { currentServiceCredentialValues } from '../src/secrets/service-credentials.js'

function scratch (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-redis-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

function problems (env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('the configuration was accepted')
}

const SENTINELS = { REDIS_SENTINELS: 's-0:26379,s-1:26379', REDIS_SENTINEL_NAME: 'primary' }

t.test('no Redis setting means redis://127.0.0.1:6379, without TLS', async t => {
  t.same(loadConfig({}).redis, { mode: 'standalone', url: 'redis://127.0.0.1:6379', username: undefined, password: undefined })
})

t.test('more than one Redis setting is a start-up error naming each one set', async t => {
  const url = 'redis://r:6379'
  t.match(problems({ REDIS_URL: url, ...SENTINELS }), /set only one of .*; got REDIS_URL and REDIS_SENTINELS/)
  t.match(problems({ REDIS_URL: url, REDIS_CLUSTER_NODES: 'c:6379' }), /got REDIS_URL and REDIS_CLUSTER_NODES/)
  t.match(problems({ ...SENTINELS, REDIS_CLUSTER_NODES: 'c:6379' }), /got REDIS_SENTINELS and REDIS_CLUSTER_NODES/)
  t.match(problems({ REDIS_URL: url, ...SENTINELS, REDIS_CLUSTER_NODES: 'c:6379' }), /got REDIS_URL and REDIS_SENTINELS and REDIS_CLUSTER_NODES/)
  t.doesNotThrow(() => loadConfig({ REDIS_URL: '', ...SENTINELS }), 'an empty variable counts as unset')
})

t.test('Sentinel: the host:port list is parsed, blanks and spaces dropped, IPv6 in brackets', async t => {
  const config = loadConfig({ REDIS_SENTINELS: ' sentinel-0.ns.svc:26379, 10.0.0.7:26380 ,,[fd00::1]:5000', REDIS_SENTINEL_NAME: 'mymaster' })
  t.equal(config.redis.mode, 'sentinel')
  if (config.redis.mode !== 'sentinel') return
  t.same(config.redis.sentinels, [{ host: 'sentinel-0.ns.svc', port: 26379 }, { host: '10.0.0.7', port: 26380 }, { host: 'fd00::1', port: 5000 }])
  t.equal(config.redis.name, 'mymaster')
  t.equal(config.redis.tls, undefined, 'no TLS unless asked for')
})

t.test('Sentinel: a bad entry, a missing name and sentinel-only variables without sentinels are named', async t => {
  for (const bad of ['sentinel-0', 'sentinel-0:0', 'sentinel-0:70000', 'redis://s:26379', 's:26379:1', 'fd00::1:26379']) {
    t.match(problems({ REDIS_SENTINELS: `ok:26379,${bad}`, REDIS_SENTINEL_NAME: 'm' }), new RegExp(`REDIS_SENTINELS must be a comma-separated list of host:port, got "${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`), bad)
  }
  t.match(problems({ REDIS_SENTINELS: ' , ', REDIS_SENTINEL_NAME: 'm' }), /REDIS_SENTINELS must name at least one host:port/)
  t.match(problems({ REDIS_SENTINELS: 's:26379' }), /REDIS_SENTINEL_NAME is required with REDIS_SENTINELS/)
  t.match(problems({ REDIS_SENTINEL_NAME: 'm' }), /REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not/)
  t.match(problems({ REDIS_CLUSTER_NODES: 'c:6379', REDIS_SENTINEL_PASSWORD: 'sentinel-pass-123' }), /REDIS_SENTINEL_PASSWORD is set but REDIS_SENTINELS is not/)
})

t.test('Cluster: the seed nodes are parsed like the sentinels, problems named REDIS_CLUSTER_NODES', async t => {
  const config = loadConfig({ REDIS_CLUSTER_NODES: 'redis-0:6379,redis-1:6380' })
  t.same(config.redis.mode === 'cluster' ? config.redis.nodes : [], [{ host: 'redis-0', port: 6379 }, { host: 'redis-1', port: 6380 }])
  t.match(problems({ REDIS_CLUSTER_NODES: 'redis-0' }), /REDIS_CLUSTER_NODES must be a comma-separated list of host:port, got "redis-0"/)
  const list: string[] = []
  t.same(parseHostPortList('X', 'a:1,b:2', list), [{ host: 'a', port: 1 }, { host: 'b', port: 2 }])
  t.same(list, [])
})

t.test('REDIS_URL must be redis:// or rediss://', async t => {
  for (const bad of ['http://r:6379', 'r:6379', 'redis://', 'unix:///tmp/r.sock']) t.match(problems({ REDIS_URL: bad }), /REDIS_URL must be redis:\/\/host:port or rediss:\/\/host:port/, bad)
})

t.test('TLS: rediss:// verifies against REDIS_TLS_CA_FILE; the CA file must be readable and needs TLS', async t => {
  const dir = scratch(t)
  const ca = join(dir, 'ca.crt')
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
  t.same(loadConfig({ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: ca }).redis.tls, { ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' })
  t.same(loadConfig({ REDIS_URL: 'rediss://r:6380' }).redis.tls, { ca: undefined }, 'rediss:// without a CA file: the system CAs')
  t.match(problems({ REDIS_URL: 'redis://r:6379', REDIS_TLS_CA_FILE: ca }), /REDIS_TLS_CA_FILE is set but REDIS_URL is redis:\/\/ \(no TLS\); use rediss:\/\//)
  t.match(problems({ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: join(dir, 'missing.crt') }), /REDIS_TLS_CA_FILE: cannot read .*missing\.crt \(ENOENT\)/)
  writeFileSync(join(dir, 'empty.crt'), '\n')
  t.match(problems({ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: join(dir, 'empty.crt') }), /REDIS_TLS_CA_FILE: .*empty\.crt is empty/)
  t.same(loadConfig({ ...SENTINELS, REDIS_TLS_CA_FILE: ca }).redis.tls?.ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', 'a CA file turns TLS on for Sentinel')
  t.same(loadConfig({ REDIS_CLUSTER_NODES: 'c:6379', REDIS_TLS: 'true' }).redis.tls, { ca: undefined }, 'REDIS_TLS=true for a Cluster with public certificates')
  t.match(problems({ REDIS_CLUSTER_NODES: 'c:6379', REDIS_TLS: 'false', REDIS_TLS_CA_FILE: ca }), /REDIS_TLS_CA_FILE is set but REDIS_TLS=false/)
  t.match(problems({ REDIS_URL: 'redis://r:6379', REDIS_TLS: 'true' }), /with REDIS_URL use rediss:\/\//)
})

t.test('Redis passwords come from variables or files and are service credentials, never resolvable from a descriptor', async t => {
  const dir = scratch(t)
  const file = join(dir, 'redis-password')
  writeFileSync(file, 'data-node-password-1\n')
  const config = loadConfig({ ...SENTINELS, REDIS_PASSWORD_FILE: file, REDIS_SENTINEL_PASSWORD: 'sentinel-password-2' })
  t.equal(config.redis.password, 'data-node-password-1')
  t.equal(config.redis.mode === 'sentinel' ? config.redis.sentinelPassword : '', 'sentinel-password-2')
  const credentials = currentServiceCredentialValues(config.serviceCredentials)
  t.ok(credentials.includes('data-node-password-1') && credentials.includes('sentinel-password-2'), 'both are service credentials')

  const inUrl = loadConfig({ REDIS_URL: 'rediss://app:url%40password-3@r:6380/0', DESCRIPTOR_SECRET_FINANCE__REDIS: 'url@password-3' })
  t.ok(currentServiceCredentialValues(inUrl.serviceCredentials).includes('url@password-3'), 'a password inside REDIS_URL is one too (decoded)')
  const store = createSecretStore({ ...inUrl.descriptorSecrets, serviceCredentials: () => currentServiceCredentialValues(inUrl.serviceCredentials) })
  t.same(store.lookup('redis', { domain: 'finance' }), { kind: 'service-credential' }, 'a descriptor secret equal to the Redis password is refused')
  t.notMatch(describeRedis(inUrl.redis), /password/, 'what the start-up line says about Redis holds no credential')
  t.equal(describeRedis(inUrl.redis), 'rediss://r:6380')

  t.match(problems({ REDIS_URL: 'redis://:pw-in-url-123@r:6379', REDIS_PASSWORD: 'other-password-4' }), /REDIS_URL holds a password and REDIS_PASSWORD is set too/)
  t.match(problems({ REDIS_PASSWORD: 'a-password-5', REDIS_PASSWORD_FILE: file }), /REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set/)
})

t.test('QUEUE_PREFIX is a plain name: the service adds the hash tag itself', async t => {
  t.equal(loadConfig({ QUEUE_PREFIX: 'adapter-eu.1' }).queuePrefix, 'adapter-eu.1')
  for (const bad of ['{tech-adapter}', 'tech adapter', 'a*', '-x']) t.match(problems({ QUEUE_PREFIX: bad }), /QUEUE_PREFIX must be a plain name/, bad)
})
