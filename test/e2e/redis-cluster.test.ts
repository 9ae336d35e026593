/**
 * The service on a real three-master Redis Cluster (REDIS_CLUSTER_NODES only): provision, re-provision, the same
 * request twice, async validation, reverse provisioning, ACL update, status and unprovision, through the real API,
 * worker and Airbyte simulator. Then every key the service and BullMQ wrote is checked to sit in the one slot of
 * the {QUEUE_PREFIX} hash tag, which is what lets their scripts and transactions run on a Cluster at all.
 */
import t from 'tap'
import { Cluster } from 'ioredis'
import { checkReply } from '../../src/openapi/contract-check.js'
import { RedisKeys } from '../../src/queue/redis-keys.js'
import { startLocalCluster } from '../helpers/redis-cluster.js'
import { airbyteRequest, postJson, waitForStatus } from '../helpers/stack.js'
import { startTopologyStack } from '../helpers/topology-stack.js'

const cluster = await startLocalCluster()
const stack = await startTopologyStack(t, cluster)
const { base, sim } = stack

async function accepted (path: string, body: unknown): Promise<string> {
  const res = await postJson(`${base}${path}`, body)
  t.equal(res.status, 202, `${path}: ${res.text}`)
  return res.text
}

async function finished (statusPath: string): Promise<any> {
  const body = await waitForStatus(`${base}${statusPath}`, { deadlineMs: 20_000 })
  t.same(checkReply('GET', statusPath, 200, 'application/json', body), [], `${statusPath} follows the contract`)
  return body
}

t.test('the service is on the Cluster, not on a single server', async t => {
  t.equal(stack.config.redis.mode, 'cluster')
  t.ok(stack.service.app?.redis instanceof Cluster, 'the API connection is a Cluster client')
})

t.test('provision, re-provision in place and a duplicate request work on the Cluster', async t => {
  const first = await finished(`/v1/provision/${await accepted('/v1/provision', airbyteRequest('orders'))}/status`)
  t.equal(first.status, 'COMPLETED', first.result)
  t.same([sim.state.sources.size, sim.state.destinations.size, sim.state.connections.size], [1, 1, 1])

  const changed = airbyteRequest('orders', s => { s.connection.schedule = { scheduleType: 'cron', cronExpression: '0 30 4 * * ?' } })
  // The submit script's dedupe check runs on the Cluster: two identical requests in flight, one task.
  const [a, b] = await Promise.all([postJson(`${base}/v1/provision`, changed), postJson(`${base}/v1/provision`, changed)])
  t.equal(a.text, b.text, 'the same request in flight gets the same token')
  const second = await finished(`/v1/provision/${a.text}/status`)
  t.equal(second.status, 'COMPLETED', second.result)
  t.same([sim.state.sources.size, sim.state.destinations.size, sim.state.connections.size], [1, 1, 1], 'updated in place')
  t.match([...sim.state.connections.values()][0]?.schedule.cronExpression, /^0 30 4/)
  const again = await accepted('/v1/provision', changed)
  t.not(again, a.text, 'once finished, the same request is a new task (its dedupe entry was released)')
  t.equal((await finished(`/v1/provision/${again}/status`)).status, 'COMPLETED')
})

t.test('several components of one data product run in parallel, each in order, on the Cluster', async t => {
  const tokens = await Promise.all(['east', 'west', 'north'].map(async name => await accepted('/v1/provision', airbyteRequest(name))))
  // A second operation on one of them queues behind the first in its component FIFO.
  tokens.push(await accepted('/v1/unprovision', airbyteRequest('north', () => {}, { removeData: false })))
  const results = await Promise.all(tokens.map(async token => await finished(`/v1/provision/${token}/status`)))
  t.same(results.map(r => r.status), ['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED'], JSON.stringify(results.map(r => r.result)))
  t.notOk([...sim.state.connections.values()].some(c => c.name === 'north-connection'), 'the unprovision ran after its provision')
})

t.test('async validation, reverse provisioning and an ACL update complete on the Cluster', async t => {
  const validation = await finished(`/v2/validate/${await accepted('/v2/validate', airbyteRequest('orders'))}/status`)
  t.same(validation.info.publicInfo, { valid: true })
  const reverse = await finished(`/v1/reverse-provisioning/${await accepted('/v1/reverse-provisioning', {
    useCaseTemplateId: 'urn:dmb:utm:airbyte-standard:0.0.0', environment: 'development', params: { connectionName: 'orders-connection' }, catalogInfo: {}
  })}/status`)
  t.equal(reverse.status, 'COMPLETED', JSON.stringify(reverse.logs))
  t.equal(reverse.updates['spec.mesh.specific.connection.name'], 'orders-connection')
  const request = airbyteRequest('orders')
  const acl = await finished(`/v1/provision/${await accepted('/v1/updateacl', { refs: ['user:alice_company.com'], provisionInfo: { request: request.descriptor, result: '' } })}/status`)
  t.equal(acl.status, 'COMPLETED', acl.result)
})

t.test('unprovision removes what provision made', async t => {
  const done = await finished(`/v1/provision/${await accepted('/v1/unprovision', airbyteRequest('orders', () => {}, { removeData: true }))}/status`)
  t.equal(done.status, 'COMPLETED', done.result)
  t.notOk([...sim.state.connections.values()].some(c => c.name === 'orders-connection'))
  t.notOk([...sim.state.sources.values()].some(s => s.name === 'orders-source'))
})

t.test('every key of the service and of BullMQ is in the one slot of its hash tag', async t => {
  const client = new Cluster(cluster.ports.map(port => ({ host: '127.0.0.1', port })))
  t.teardown(() => { client.disconnect() })
  // The node list is filled once the client has read the slot map.
  await client.ping()
  t.equal(client.nodes('master').length, 3, 'three masters')
  const keys = new RedisKeys(stack.prefix)
  const found: string[] = []
  const holders: number[] = []
  for (const node of client.nodes('master')) {
    let cursor = '0'
    const before = found.length
    do {
      const [next, batch] = await node.scan(cursor, 'COUNT', 1000)
      cursor = next
      found.push(...batch)
    } while (cursor !== '0')
    if (found.length > before) holders.push(node.options.port ?? 0)
  }
  t.ok(found.length > 30, `${found.length} keys written`)
  t.ok(found.some(k => k.startsWith(`${keys.tagged}:tasks:`)) && found.some(k => k.startsWith(`${keys.tagged}:task:`)), 'BullMQ\'s and the service\'s own keys')
  t.same(found.filter(k => !k.startsWith(`${keys.tagged}:`)), [], 'no key outside the tagged prefix')
  t.equal(holders.length, 1, 'one node holds them all')
  const slot = await client.cluster('KEYSLOT', keys.tagged)
  const token = '00000000-0000-4000-8000-000000000000'
  const named = [keys.task(token), keys.taskLogs(token), keys.sequence, keys.dedupe('d'), keys.noDedupe, keys.componentQueue('urn:dmb:cmp:x:y:0:z'),
    keys.provisioned('urn:dmb:cmp:x:y:0:z'), keys.limiter('airbyte'), `${keys.rateLimitNamespace}caller:x`, keys.bullJob(token), ...found]
  const slots = new Set(await Promise.all(named.map(async key => await client.cluster('KEYSLOT', key))))
  t.same([...slots], [slot], 'every key name hashes to the tag\'s slot')
})
