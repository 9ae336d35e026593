import t from 'tap'
import { stringify } from 'yaml'
import type { AirbyteSimulator } from '../../src/sandbox/airbyte/airbyte-simulator.js'
import { airbyteRequest, postJson, startStack, waitForStatus } from '../helpers/stack.js'

const NAMES = ['a', 'b', 'c', 'd']

/** C depends on B, B on A; D on nothing. */
function dataProduct (): any {
  const dependsOn: Record<string, string[]> = { b: ['a'], c: ['b'] }
  const dp = JSON.parse(airbyteRequest('x').descriptor as string).dataProduct
  dp.components = NAMES.map(name => {
    const component = JSON.parse(airbyteRequest(name).descriptor as string).dataProduct.components[0]
    component.dependsOn = (dependsOn[name] ?? []).map(n => `urn:dmb:cmp:finance:cashflow:0:${n}`)
    return component
  })
  return dp
}

/** The Airbyte ids each component's provisioning made, by component name. */
function resourcesByComponent (sim: AirbyteSimulator): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const connection of sim.state.connections.values()) {
    const name = connection.name.replace(/-connection$/, '')
    out.set(name, [connection.connectionId, connection.sourceId, connection.destinationId])
  }
  return out
}

/** Positions in the simulator's request log of the DELETEs of each component's resources. */
function deletePositions (sim: AirbyteSimulator, ids: Map<string, string[]>): Map<string, number[]> {
  const out = new Map<string, number[]>(NAMES.map(n => [n, []]))
  sim.requests.forEach((request, i) => {
    if (request.method !== 'DELETE') return
    for (const [name, own] of ids) if (own.some(id => request.path.endsWith(`/${id}`))) out.get(name)?.push(i)
  })
  return out
}

async function provision (base: string, sim: AirbyteSimulator): Promise<Map<string, string[]>> {
  const res = await postJson(`${base}/v1/provision`, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dataProduct()) })
  if (res.status !== 202) throw new Error(`provision answered ${res.status}: ${res.text}`)
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`, { deadlineMs: 30_000 })
  if (status.status !== 'COMPLETED') throw new Error(`provision ended ${status.status}: ${status.result}`)
  const ids = resourcesByComponent(sim)
  if (ids.size !== NAMES.length) throw new Error(`expected ${NAMES.length} connections, found ${ids.size}`)
  return ids
}

t.test('unprovisioning a data product deletes dependents before what they depend on', async t => {
  const { base, sim } = await startStack(t, { sim: { syncDurationMs: 50 } })
  const ids = await provision(base, sim)
  const res = await postJson(`${base}/v1/unprovision`, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dataProduct()), removeData: false })
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`, { deadlineMs: 30_000 })
  t.equal(status.status, 'COMPLETED', status.result)
  t.same([sim.state.sources.size, sim.state.destinations.size, sim.state.connections.size], [0, 0, 0], 'everything removed')

  const at = deletePositions(sim, ids)
  for (const name of NAMES) t.equal(at.get(name)?.length, 3, `${name}: connection, destination and source deleted`)
  const last = (name: string): number => Math.max(...(at.get(name) ?? []))
  const first = (name: string): number => Math.min(...(at.get(name) ?? []))
  t.ok(last('c') < first('b'), `every DELETE of c (${String(at.get('c'))}) before any of b (${String(at.get('b'))})`)
  t.ok(last('b') < first('a'), `every DELETE of b (${String(at.get('b'))}) before any of a (${String(at.get('a'))})`)
})

t.test('a failure unprovisioning a dependent leaves what it depends on in place', async t => {
  const { base, sim } = await startStack(t, { sim: { syncDurationMs: 50 }, env: { STEP_RETRIES: '0', AIRBYTE_CALL_RETRIES: '0' } })
  const ids = await provision(base, sim)
  const cConnection = ids.get('c')?.[0] ?? 'missing'
  sim.faults.failNext = [{ status: 500, method: 'DELETE', path: new RegExp(`/connections/${cConnection}$`) }]
  const res = await postJson(`${base}/v1/unprovision`, { descriptorKind: 'DATAPRODUCT_DESCRIPTOR', descriptor: stringify(dataProduct()), removeData: false })
  t.equal(res.status, 202, res.text)
  const status = await waitForStatus(`${base}/v1/provision/${res.text}/status`, { deadlineMs: 30_000 })
  t.equal(status.status, 'FAILED')
  t.match(status.result, /^c: delete-connection: /, 'the failure names the component and step')
  const at = deletePositions(sim, ids)
  t.same(at.get('b'), [], 'nothing of b was deleted')
  t.same(at.get('a'), [], 'nothing of a was deleted')
  for (const name of ['a', 'b']) {
    const [connectionId, sourceId, destinationId] = ids.get(name) ?? []
    t.ok(sim.state.connections.has(connectionId ?? '') && sim.state.sources.has(sourceId ?? '') && sim.state.destinations.has(destinationId ?? ''),
      `${name}'s connection, source and destination still exist`)
  }
})
