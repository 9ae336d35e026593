/**
 * The provision steps that make `apiTokenGuid` a connection admin: directly through the admin list when this
 * service administers the connection (ensure-connection already put the token's user there), otherwise through
 * the "API token connection admin" package workflow: adopt a run for this connection and token that is already
 * Pending or Running, else re-run the newest template with these parameters, else submit a new one; then poll
 * the run to its end with `{ waitMs }`, never in a worker slot. The run is checkpointed the moment it is known,
 * and a re-run of the start step finds it running, so a killed worker never starts a second run.
 */
import { PermanentUpstreamError } from '../../errors.js'
import type { Step } from '../handler.js'
import { TERMINAL_PHASES } from './atlan-client.js'
import { clientFor, nowOf, onFreshConnection, requireConnection, type AtlanHandlerDeps, type AtlanState, type Ctx } from './atlan-state.js'

/** The package, and the prefix of the templates its runs leave behind. */
export const CONNECTION_ADMIN_PACKAGE = 'csa-api-token-connection-admin'

export function tokenSteps (deps: AtlanHandlerDeps): Array<Step<AtlanState>> {
  return [
    { name: 'grant-api-token', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await grantApiToken(deps, ctx) }) },
    { name: 'start-token-workflow', run: async (ctx) => await onFreshConnection(deps, ctx, async () => { await startTokenWorkflow(deps, ctx) }) },
    { name: 'wait-token-workflow', run: async (ctx) => await waitTokenWorkflow(deps, ctx) }
  ]
}

async function grantApiToken (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const token = ctx.state.apiToken
  if (token === undefined || token.via !== undefined) return
  const connection = requireConnection(ctx)
  const client = clientFor(deps, ctx.signal)
  // ensure-connection has just read or written the admin list; a checkpoint of an earlier release lacks it.
  const admins = connection.adminUsers ?? ((await client.getByGuid(connection.guid, ctx.signal))?.entity.attributes.adminUsers as string[] | undefined) ?? []
  if (admins.includes(token.username)) {
    token.via = connection.administered ? 'admin-list' : 'already'
    ctx.log.info(`API token ${token.guid} (${token.username}) is an admin of connection "${connection.name}"`)
    return
  }
  if (connection.administered) {
    await client.upsert([{
      typeName: 'Connection',
      guid: connection.guid,
      attributes: { name: connection.name, qualifiedName: connection.qualifiedName, adminUsers: [...admins, token.username] }
    }], ctx.signal)
    connection.adminUsers = [...admins, token.username].sort()
    token.via = 'admin-list'
    ctx.log.info(`API token ${token.guid} (${token.username}) added to the admins of connection "${connection.name}"`)
    return
  }
  if (!deps.config.useWorkflows) {
    throw new PermanentUpstreamError(
      `this service does not administer connection "${connection.name}" (${connection.guid}) and package workflows are off (ATLAN_USE_WORKFLOWS=false): ` +
      `ask a connection admin to add API token ${token.guid}, or turn workflows on`)
  }
  ctx.log.info(`this service does not administer connection "${connection.name}": the "API token connection admin" workflow will add API token ${token.guid}`)
}

async function startTokenWorkflow (deps: AtlanHandlerDeps, ctx: Ctx): Promise<void> {
  const token = ctx.state.apiToken
  if (token === undefined || token.via !== undefined || token.run !== undefined) return
  const connection = requireConnection(ctx)
  const client = clientFor(deps, ctx.signal)
  // A run this step started before a crash may have finished already: then there is nothing to start.
  const admins = ((await client.getByGuid(connection.guid, ctx.signal))?.entity.attributes.adminUsers as string[] | undefined) ?? []
  if (admins.includes(token.username)) {
    token.via = 'workflow'
    ctx.log.info(`API token ${token.guid} (${token.username}) is an admin of connection "${connection.name}"`)
    return
  }
  const matching = (await client.findWorkflowTemplates(CONNECTION_ADMIN_PACKAGE, ctx.signal)).filter((t) =>
    t.parameters.connection_qualified_name === connection.qualifiedName && t.parameters.api_token_guid === token.guid)
  const watchedSince = nowOf(deps)
  for (const template of matching) {
    const [latest] = await client.findRuns(template.name, 1, ctx.signal)
    if (latest !== undefined && (latest.phase === 'Pending' || latest.phase === 'Running')) {
      token.run = { templateName: template.name, runName: latest.name, how: 'adopted', watchedSince, phase: latest.phase }
      ctx.log.info(`adopted workflow run ${latest.name} (${latest.phase}) of ${template.name}, already making API token ${token.guid} an admin of "${connection.name}"`)
      return
    }
  }
  const newest = matching[0]
  if (newest !== undefined) {
    const runName = await client.rerunTemplate(newest.name, ctx.signal)
    token.run = { templateName: newest.name, runName, how: 'rerun', watchedSince }
    ctx.log.info(`re-ran workflow template ${newest.name} (run ${runName ?? 'unnamed'}) to make API token ${token.guid} an admin of "${connection.name}"`)
    return
  }
  const name = `${CONNECTION_ADMIN_PACKAGE}-${Math.floor(watchedSince / 1000)}`
  const runName = await client.submitWorkflow(name, CONNECTION_ADMIN_PACKAGE, {
    connection_qualified_name: connection.qualifiedName,
    api_token_guid: token.guid
  }, ctx.signal)
  token.run = { templateName: name, runName, how: 'submitted', watchedSince }
  ctx.log.info(`submitted workflow ${name} (run ${runName ?? 'unnamed'}) to make API token ${token.guid} an admin of "${connection.name}"`)
}

async function waitTokenWorkflow (deps: AtlanHandlerDeps, ctx: Ctx): Promise<{ waitMs: number } | undefined> {
  const run = ctx.state.apiToken?.run
  if (run === undefined || ctx.state.apiToken?.via !== undefined) return undefined
  const runs = await clientFor(deps, ctx.signal).findRuns(run.templateName, 5, ctx.signal)
  const current = runs.find((r) => run.runName !== undefined && r.name === run.runName) ?? (run.runName === undefined ? runs[0] : undefined)
  const phase = current?.phase ?? 'Pending'
  if (phase !== run.phase) ctx.log.info(`workflow run ${current?.name ?? run.templateName}: ${phase}`)
  run.phase = phase
  if (!TERMINAL_PHASES.includes(phase)) {
    const waited = nowOf(deps) - run.watchedSince
    if (waited > deps.config.pollTimeoutMs) {
      throw new PermanentUpstreamError(`workflow run ${current?.name ?? run.templateName} did not finish within ${Math.round(deps.config.pollTimeoutMs / 60_000)} min (ATLAN_POLL_TIMEOUT_MS); it is ${phase}`)
    }
    return { waitMs: deps.config.pollIntervalMs }
  }
  if (phase !== 'Succeeded') {
    const why = current?.message === undefined ? '' : `: ${current.message}`
    throw new PermanentUpstreamError(
      `the "API token connection admin" workflow run ${current?.name ?? run.templateName} ended ${phase}${why}; ` +
      `API token ${ctx.state.apiToken?.guid ?? ''} is not a connection admin (check the run in Atlan, then provision again)`)
  }
  if (ctx.state.apiToken !== undefined) ctx.state.apiToken.via = 'workflow'
  ctx.log.info(`workflow run ${current?.name ?? run.templateName} succeeded: API token ${ctx.state.apiToken?.guid ?? ''} is a connection admin`)
  return undefined
}
