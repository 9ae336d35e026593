import t from 'tap'
import { Redis } from 'ioredis'
import { airbyteRequest, getJson, postJson, startStack, waitForStatus } from '../helpers/stack.js'
import { checkReply } from '../../src/openapi/contract-check.js'
import { eventually } from '../helpers/service-process.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'

const stack = await startStack(t, { env: { TASK_RETENTION_SECONDS: '3' } })
const { base, sim } = stack

async function provisioned (name: string): Promise<any> {
  const res = await postJson(`${base}/v1/provision`, airbyteRequest(name))
  return await waitForStatus(`${base}/v1/provision/${res.text}/status`)
}

t.test('async validation checks streams and sync modes against an existing source', async t => {
  await provisioned('checked')
  const good = await postJson(`${base}/v2/validate`, airbyteRequest('checked'))
  t.equal(good.status, 202)
  const goodStatus = await waitForStatus(`${base}/v2/validate/${good.text}/status`)
  t.same(checkReply('GET', `/v2/validate/${good.text}/status`, 200, 'application/json', goodStatus), [])
  t.same(goodStatus.info.publicInfo, { valid: true })
  const bad = await postJson(`${base}/v2/validate`, airbyteRequest('checked', s => {
    s.connection.streams = [{ name: 'nonexistent' }, { name: 'orders', syncMode: 'incremental_deduped_history', cursorField: ['updated_at'], primaryKey: [['id']] }]
  }))
  const badStatus = await waitForStatus(`${base}/v2/validate/${bad.text}/status`)
  t.equal(badStatus.info.publicInfo.valid, false)
  t.match(badStatus.info.publicInfo.error.errors.join('\n'), /connection\.streams\.0.*nonexistent/)
})

t.test('async validation of an unparseable descriptor reports it in the task, not as a 400', async t => {
  const res = await postJson(`${base}/v2/validate`, { descriptor: 'Hi', descriptorKind: 'DATAPRODUCT_DESCRIPTOR', removeData: false })
  t.equal(res.status, 202)
  const status = await waitForStatus(`${base}/v2/validate/${res.text}/status`)
  t.equal(status.info.publicInfo.valid, false)
})

t.test('reverse provisioning describes a connection, secrets as placeholders', async t => {
  await provisioned('reversed')
  const res = await postJson(`${base}/v1/reverse-provisioning`, {
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: { connectionName: 'reversed-connection' }, catalogInfo: {}
  })
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/v1/reverse-provisioning/${res.text}/status`)
  t.same(checkReply('GET', `/v1/reverse-provisioning/${res.text}/status`, 200, 'application/json', status), [])
  t.equal(status.status, 'COMPLETED', JSON.stringify(status.logs))
  t.equal(status.updates['spec.mesh.specific.connection.name'], 'reversed-connection')
  t.equal(status.updates['spec.mesh.specific.source.name'], 'reversed-source')
  const text = JSON.stringify(status.updates)
  t.match(text, /\$\{secret:[^}]+\}/, 'secrets are placeholders')
  t.notMatch(text, /e2e-db-password-4711|\*\*\*\*\*\*\*\*\*\*/, 'neither the secret nor the mask is copied')
  const unknown = await postJson(`${base}/v1/reverse-provisioning`, { useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: { connectionName: 'ghost' } })
  const failed = await waitForStatus(`${base}/v1/reverse-provisioning/${unknown.text}/status`)
  t.equal(failed.status, 'FAILED')
})

t.test('legacy updateacl with acl {users, groups} completes', async t => {
  await provisioned('acl')
  const request = airbyteRequest('acl')
  const res = await postJson(`${base}/updateacl`, { acl: { users: ['alice@company.com'], groups: ['analysts'] }, provisionInfo: { request: request.descriptor, result: 'OK' } })
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/provision/${res.text}/status`)
  t.equal(status.status, 'COMPLETED')
})

t.test('resolved secrets never reach Redis', async t => {
  await provisioned('secretive')
  const redis = new Redis(stack.redis.url)
  t.teardown(() => { redis.disconnect() })
  let cursor = '0'
  const leaks: string[] = []
  let scanned = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', new RedisKeys(stack.prefix).everyKey, 'COUNT', 500)
    cursor = next
    for (const key of keys) {
      scanned++
      const type = await redis.type(key)
      const dump = type === 'string'
        ? await redis.get(key)
        : type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : type === 'list' ? JSON.stringify(await redis.lrange(key, 0, -1)) : type === 'zset' ? JSON.stringify(await redis.zrange(key, 0, -1)) : ''
      if (dump?.includes('e2e-db-password-4711') === true || dump?.includes('e2e-warehouse-password-4712') === true) leaks.push(key)
    }
  } while (cursor !== '0')
  t.ok(scanned > 10, `scanned ${scanned} keys`)
  t.same(leaks, [], 'no key holds a secret value')
})

t.test('a finished task stays pollable for the retention period, then is unknown', async t => {
  const res = await postJson(`${base}/v1/provision`, airbyteRequest('ephemeral'))
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`)
  t.equal(status.status, 'COMPLETED')
  await eventually('the task expires', async () => (await getJson(`${base}/v1/provision/${res.text}/status`)).status === 400, 10_000)
  t.pass('expired after TASK_RETENTION_SECONDS')
  t.ok(sim.state.connections.size > 0)
})

t.test('unprovision finds resources by the ids in latestEnrichedDescriptor, even after a rename', async t => {
  const status = await provisioned('enriched')
  const enriched = JSON.parse(airbyteRequest('enriched').descriptor as string)
  enriched.dataProduct.components[0].info = status.info
  const renamed = airbyteRequest('enriched', s => {
    s.source.name = 'renamed-source'
    s.destination.name = 'renamed-destination'
    s.connection.name = 'renamed-connection'
  }, { removeData: false, latestEnrichedDescriptor: JSON.stringify(enriched) })
  const before = sim.state.connections.size
  const res = await postJson(`${base}/v1/unprovision`, renamed)
  const done = await waitForStatus(`${base}/v1/provision/${res.text}/status`)
  t.equal(done.status, 'COMPLETED', done.result)
  t.equal(sim.state.connections.size, before - 1, 'the recorded connection was deleted')
  t.notOk(sim.state.connections.has(status.info.privateInfo.connectionId))
  t.notOk(sim.state.sources.has(status.info.privateInfo.sourceId))
})
