import t from 'tap'
import { metricsRegistry } from '../../../src/observability/metrics.js'
import { createIncortaClient } from '../../../src/provisioner/incorta/incorta-client.js'
import { INCORTA_DEFAULTS, type IncortaConfig } from '../../../src/provisioner/incorta/incorta-config.js'
import { startIncortaSimulator } from '../../../src/sandbox/incorta/incorta-simulator.js'
import { parseExposition, type Sample } from '../../observability/exposition.js'

const sim = await startIncortaSimulator({ tenants: { 'tenant-east': { schemas: ['Sales EU', 'hr'] } } })
t.teardown(() => sim.close())

async function incorta (name: string): Promise<Sample[]> {
  return parseExposition(await metricsRegistry.metrics()).filter(s => s.name === name && s.labels.target === 'incorta')
}

t.test('Incorta calls count under one operation per endpoint, never a tenant or schema name', async t => {
  const config: IncortaConfig = { ...INCORTA_DEFAULTS, url: sim.url, tenant: 'tenant-east', pat: sim.pat, retryBaseMs: 2, requestTimeoutMs: 5000 }
  const client = createIncortaClient(config)
  await client.listSchemas('tenant-east')
  await client.startSchemaLoad('tenant-east', ['Sales EU'], 'FULL')
  await client.schemaStatus('tenant-east', 'Sales EU')
  await client.schemaStatus('tenant-east', 'hr')
  const operations = new Set((await incorta('tech_adapter_upstream_requests_total')).map(s => s.labels.operation))
  t.same([...operations].sort(), ['GET /{tenant}/schema/{name}/status', 'POST /{tenant}/schema/list', 'POST /{tenant}/schema/load'])
})

t.test('OIDC token calls are counted as token refreshes of the incorta target', async t => {
  const config: IncortaConfig = {
    ...INCORTA_DEFAULTS, auth: 'oidc', url: sim.url, tenant: 'tenant-east', oidcTokenUrl: sim.tokenUrl, oidcClientId: 'incorta-client', oidcClientSecret: 'incorta-secret', retryBaseMs: 2
  }
  const before = (await incorta('tech_adapter_upstream_token_refreshes_total')).find(s => s.labels.outcome === 'success')?.value ?? 0
  await createIncortaClient(config).listSchemas('tenant-east')
  const after = (await incorta('tech_adapter_upstream_token_refreshes_total')).find(s => s.labels.outcome === 'success')?.value ?? 0
  t.equal(after - before, 1)
})
