/**
 * End-to-end plumbing for the Incorta handler: an Incorta simulator (with its OIDC server) next to the stack of
 * test/helpers/stack.ts, the environment that points the service at it, request builders, and a status poll that
 * checks every reply against openapi.yaml.
 */
import type { Test } from 'tap'
import { checkReply } from '../../src/openapi/contract-check.js'
import { startIncortaSimulator, type IncortaSimulator, type IncortaSimulatorOptions } from '../../src/sandbox/incorta/incorta-simulator.js'
import { airbyteRequest, getJson, postJson, startStack, type Stack, type StackOptions } from './stack.js'

export function incortaEnv (sim: IncortaSimulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    INCORTA_URL: sim.url,
    INCORTA_TENANT: sim.defaultTenant,
    INCORTA_PAT: sim.pat,
    INCORTA_OIDC_TOKEN_URL: sim.tokenUrl,
    INCORTA_POLL_INTERVAL_MS: '20',
    INCORTA_REQUEST_TIMEOUT_MS: '5000',
    ...extra
  }
}

export async function startIncortaStack (t: Test, opts: { sim?: IncortaSimulatorOptions, env?: Record<string, string>, stack?: StackOptions } = {}): Promise<Stack & { incorta: IncortaSimulator }> {
  const incorta = await startIncortaSimulator(opts.sim)
  t.teardown(() => incorta.close())
  const stack = await startStack(t, { ...opts.stack, env: { ...incortaEnv(incorta), ...opts.env, ...opts.stack?.env } })
  return { ...stack, incorta }
}

export const INCORTA_COMPONENT_ID = 'urn:dmb:cmp:finance:cashflow:0:orders-incorta'

export function incortaComponent (specific: Record<string, unknown>, dependsOn: string[] = []): Record<string, unknown> {
  return {
    id: INCORTA_COMPONENT_ID,
    name: 'orders-incorta',
    kind: 'workload',
    version: '0.0.1',
    useCaseTemplateId: 'urn:dmb:utm:incorta-load:0.0.0',
    infrastructureTemplateId: 'urn:dmb:itm:provisioner:0',
    dependsOn,
    specific
  }
}

/** A COMPONENT_DESCRIPTOR request for one Incorta component. */
export function incortaRequest (specific: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const dp = JSON.parse(airbyteRequest('x').descriptor as string).dataProduct
  dp.components = [incortaComponent(specific)]
  return { descriptorKind: 'COMPONENT_DESCRIPTOR', descriptor: JSON.stringify({ dataProduct: dp, componentIdToProvision: INCORTA_COMPONENT_ID }), ...extra }
}

/** POSTs, expects the 202 token, and checks the reply against the contract. */
export async function submit (t: Test, base: string, path: string, body: unknown): Promise<string> {
  const res = await postJson(`${base}${path}`, body)
  t.equal(res.status, 202, `${path} answers 202: ${res.text}`)
  t.same(checkReply('POST', path, 202, res.contentType, res.text), [], `${path} 202 follows the contract`)
  return res.text
}

/** Polls the task to its end (no fixed sleep beyond the poll interval, a deadline); every reply, RUNNING ones included, checked against the contract. */
export async function finished (t: Test, base: string, token: string, statusPath = '/v1/provision', deadlineMs = 30_000): Promise<any> {
  const path = `${statusPath}/${token}/status`
  const deadline = Date.now() + deadlineMs
  const problems = new Set<string>()
  let last: unknown
  while (Date.now() < deadline) {
    const res = await getJson(`${base}${path}`)
    for (const p of checkReply('GET', path, res.status, res.contentType, res.body)) problems.add(p)
    last = res.body
    if (res.status === 200 && res.body?.status !== 'RUNNING') {
      t.same([...problems], [], `every ${statusPath} status reply follows the contract`)
      return res.body
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`status at ${path} did not finish in time; last: ${JSON.stringify(last)}`)
}
