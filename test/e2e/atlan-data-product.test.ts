import t from 'tap'
import { readFileSync } from 'node:fs'
import { checkReply } from '../../src/openapi/contract-check.js'
import { startAtlanSimulator } from '../../src/sandbox/atlan/atlan-simulator.js'
import { startIncortaStack } from '../helpers/incorta-stack.js'
import { postJson, waitForStatus } from '../helpers/stack.js'

const example = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>

t.test('the main example (Airbyte -> Incorta -> Atlan) provisions in dependsOn order, grants access, and unprovisions in reverse', async t => {
  const atlan = await startAtlanSimulator({ indexLagMs: 200 })
  t.teardown(atlan.close)
  const stack = await startIncortaStack(t, { stack: { sim: { syncDurationMs: 300 } }, env: { ATLAN_URL: atlan.url, ATLAN_API_TOKEN: atlan.apiToken, ATLAN_RETRY_BASE_MS: '10' } })
  const phases = (status: { logs: Array<{ phase?: string }> }): string[] => status.logs.map((l) => l.phase ?? '')
  const firstIndex = (list: string[], prefix: string): number => list.findIndex((p) => p.startsWith(prefix))
  const lastIndex = (list: string[], prefix: string): number => list.map((p) => p.startsWith(prefix)).lastIndexOf(true)

  const provision = await postJson(`${stack.base}/v1/provision`, example('orders-product-provision-request.json'))
  t.equal(provision.status, 202, provision.text)
  const provisioned = await waitForStatus(`${stack.base}/v1/provision/${provision.text}/status`, { deadlineMs: 60_000 })
  t.same(checkReply('GET', `/v1/provision/${provision.text}/status`, 200, 'application/json', provisioned), [])
  t.equal(provisioned.status, 'COMPLETED', provisioned.result)
  const order = phases(provisioned)
  t.ok(lastIndex(order, 'Orders ingestion') < firstIndex(order, 'Orders analytics load'), 'Airbyte first, then Incorta')
  t.ok(lastIndex(order, 'Orders analytics load') < firstIndex(order, 'Orders catalog entry'), 'Incorta, then Atlan')
  t.equal(stack.incorta.model.allJobs('demo').filter((j) => j.schemaName === 'orders').length, 1, 'the orders schema was loaded')
  t.same(Object.keys(provisioned.info.privateInfo).sort(), [
    'urn:dmb:cmp:finance:cashflow:0:orders-catalog', 'urn:dmb:cmp:finance:cashflow:0:orders-incorta', 'urn:dmb:cmp:finance:cashflow:0:orders-ingestion'
  ], 'info for the three components')
  t.equal(stack.sim.state.connections.size, 1)
  t.equal([...atlan.store.entities.values()].filter((e) => e.typeName === 'Connection').length, 1)
  t.equal([...atlan.store.entities.values()].filter((e) => e.typeName === 'Persona').length, 1)

  const acl = await postJson(`${stack.base}/v1/updateacl`, example('orders-catalog-updateacl-request.json'))
  t.equal(acl.status, 202, acl.text)
  const granted = await waitForStatus(`${stack.base}/v1/provision/${acl.text}/status`, { deadlineMs: 30_000 })
  t.equal(granted.status, 'COMPLETED', granted.result)
  const persona = [...atlan.store.entities.values()].find((e) => e.typeName === 'Persona')
  t.same(persona?.attributes.personaUsers, ['alice.rossi'])
  t.same(persona?.attributes.personaGroups, ['analysts'])

  const unprovision = await postJson(`${stack.base}/v1/unprovision`, example('orders-product-unprovision-request.json'))
  t.equal(unprovision.status, 202, unprovision.text)
  const removed = await waitForStatus(`${stack.base}/v1/provision/${unprovision.text}/status`, { deadlineMs: 60_000 })
  t.equal(removed.status, 'COMPLETED', removed.result)
  const reverse = phases(removed)
  t.ok(lastIndex(reverse, 'Orders catalog entry') < firstIndex(reverse, 'Orders analytics load'), 'Atlan first')
  t.ok(lastIndex(reverse, 'Orders analytics load') < firstIndex(reverse, 'Orders ingestion'), 'then Incorta, then Airbyte')
  t.equal(stack.sim.state.connections.size, 0)
  t.equal([...atlan.store.entities.values()].find((e) => e.typeName === 'Connection')?.status, 'DELETED', 'the Atlan connection is archived')
})
