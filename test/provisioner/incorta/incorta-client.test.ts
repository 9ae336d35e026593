import t, { type Test } from 'tap'
import { PermanentUpstreamError, TransientUpstreamError } from '../../../src/errors.js'
import { createIncortaClient, SCHEMA_PAGE, type IncortaClient } from '../../../src/provisioner/incorta/incorta-client.js'
import { INCORTA_DEFAULTS, type IncortaConfig } from '../../../src/provisioner/incorta/incorta-config.js'
import { readSchemaStatus } from '../../../src/provisioner/incorta/incorta-status.js'
import { startIncortaSimulator, type IncortaSimulator, type IncortaSimulatorOptions } from '../../../src/sandbox/incorta/incorta-simulator.js'

function configFor (sim: IncortaSimulator, extra: Partial<IncortaConfig> = {}): IncortaConfig {
  return { ...INCORTA_DEFAULTS, url: sim.url, tenant: sim.defaultTenant, pat: sim.pat, retryBaseMs: 2, requestTimeoutMs: 5000, ...extra }
}

async function setup (t: Test, opts: IncortaSimulatorOptions = {}, extra: Partial<IncortaConfig> = {}): Promise<{ sim: IncortaSimulator, client: IncortaClient }> {
  const sim = await startIncortaSimulator(opts)
  t.teardown(() => sim.close())
  return { sim, client: createIncortaClient(configFor(sim, extra)) }
}

async function failure (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a failure')
}

t.test('schema list reads every page and stops on the short page', async (t) => {
  const names = Array.from({ length: SCHEMA_PAGE * 2 + 17 }, (_, i) => `s${i}`)
  const { sim, client } = await setup(t, { tenants: { demo: { schemas: names } } })
  const all = await client.listSchemas('demo')
  t.equal(all.length, names.length)
  t.equal(new Set(all.map((s) => s.schemaName)).size, names.length)
  t.equal(sim.requests.filter((r) => r.path.endsWith('/schema/list')).length, 3)
})

t.test('a URL given with /incorta or a trailing slash reaches the same API', async (t) => {
  const { sim } = await setup(t)
  for (const url of [`${sim.url}/`, `${sim.url}/incorta`, `${sim.url}/incorta/api/v2/`]) {
    t.equal((await createIncortaClient(configFor(sim, { url })).listSchemas('demo')).length, 3, url)
  }
})

t.test('a schema load is started and its status read back', async (t) => {
  const { client } = await setup(t)
  t.same(await client.startSchemaLoad('demo', ['sales'], 'INCREMENTAL'), { loadingStatus: { sales: 'In Queue' } })
  const reading = readSchemaStatus(await client.schemaStatus('demo', 'sales'))
  t.equal(reading?.state, 'running')
})

t.test('a 400 INC_ business error fails at once, quoting Incorta', async (t) => {
  const { sim, client } = await setup(t)
  const err = await failure(client.startSchemaLoad('demo', ['missing'], 'FULL'))
  t.type(err, PermanentUpstreamError)
  t.match(err.message, /INC_03010404: Schema \[missing\] does not exist/)
  t.equal(sim.requests.filter((r) => r.path.endsWith('/schema/load')).length, 1)
})

t.test('load plans: an id, then already running, then an unknown plan', async (t) => {
  const { client } = await setup(t, { clock: { stepPerRequest: false } })
  const first = await client.executeLoadPlan('demo', 'nightly')
  t.ok('executionId' in first && /^\d+$/.test(first.executionId))
  const again = await client.executeLoadPlan('demo', 'nightly')
  t.same(again, { alreadyRunning: true, message: 'INC_05290501: A load job cannot be started as another job of the same load plan is being executed.' })
  const unknown = await failure(client.executeLoadPlan('demo', 'weekly'))
  t.type(unknown, PermanentUpstreamError)
  t.match(unknown.message, /INC_05290404: Load plan \[weekly\] does not exist/)
})

t.test('401 on a PAT names the token problem and is not retried beyond the one re-mint', async (t) => {
  const { sim, client } = await setup(t)
  sim.rotatePat(sim.pat)
  const err = await failure(client.listSchemas('demo'))
  t.type(err, PermanentUpstreamError)
  t.match(err.message, /refused the token/)
  t.match(err.message, /INCORTA_PAT/)
  t.match(err.message, /expired or was rotated/)
  t.notMatch(err.message, new RegExp(sim.pat))
  t.equal(sim.requests.length, 2)
})

t.test('403 names the missing Enable Public API right', async (t) => {
  const { sim } = await setup(t)
  sim.addPat('viewer-token-abcdefgh', 'viewer')
  const err = await failure(createIncortaClient(configFor(sim, { pat: 'viewer-token-abcdefgh' })).listSchemas('demo'))
  t.match(err.message, /"Enable Public API"/)
  t.equal((err as PermanentUpstreamError).upstreamStatus, 403)
})

t.test('5xx and dropped connections on reads are retried with backoff', async (t) => {
  const { sim, client } = await setup(t)
  sim.faults.failNext = [{ status: 503 }, { status: 502 }, { status: 'drop' }]
  t.equal((await client.listSchemas('demo')).length, 3)
  t.same(sim.requests.map((r) => r.status), [503, 502, 0, 200])
})

t.test('a storm longer than the retries ends as a transient failure the engine retries later', async (t) => {
  const { sim, client } = await setup(t, {}, { callRetries: 2 })
  sim.faults.errorRate = { rate: 1, status: 500 }
  const err = await failure(client.schemaStatus('demo', 'sales'))
  t.type(err, TransientUpstreamError)
  t.match(err.message, /still failing after 3 attempts/)
})

t.test('a 500 on a load start is not retried in-process (it may have started the load)', async (t) => {
  const { sim, client } = await setup(t)
  sim.faults.failNext = [{ status: 500, path: /schema\/load/ }]
  const err = await failure(client.startSchemaLoad('demo', ['sales'], 'FULL'))
  t.type(err, TransientUpstreamError)
  t.match(err.message, /may have been applied/)
})

t.test('upstream text quoting a secret is scrubbed', async (t) => {
  const { sim } = await setup(t)
  const secret = 'a-very-private-value-42'
  sim.failSchema('sales', 'Failed', 'x')
  const client = createIncortaClient(configFor(sim), { redact: (s) => s.replaceAll(secret, '[redacted]') })
  const err = await failure(client.startSchemaLoad('demo', [secret], 'FULL'))
  t.notMatch(err.message, secret)
  t.match(err.message, /\[redacted\]/)
})

t.test('an error answer quoting the Authorization header and the request, in many shapes, reaches no message', async (t) => {
  const { sim, client } = await setup(t)
  sim.faults.echoNext = [{ status: 400, authorization: true }, { status: 400, authorization: true, format: 'text' }]
  const err = await failure(client.startSchemaLoad('demo', ['sales'], 'FULL'))
  t.type(err, PermanentUpstreamError)
  t.notMatch(err.message, sim.pat)
  t.notMatch(err.message, Buffer.from(sim.pat).toString('base64'))
  t.notMatch(err.message, sim.pat.toUpperCase())
  const text = await failure(client.schemaStatus('demo', 'sales'))
  t.notMatch(text.message, sim.pat.slice(0, 12))
})
