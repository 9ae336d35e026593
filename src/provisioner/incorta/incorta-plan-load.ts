/**
 * Executing a load plan. `start` announces the execution in the service's resource ledger, executes the plan
 * and records the execution id the moment Incorta gives it (incorta-ledger); a task resumed with an id in its
 * checkpoint or in the ledger's record of this request follows that execution instead of starting another (an id
 * Incorta no longer knows is logged and the plan executed again). When Incorta answers that another execution of
 * the plan is running (400 INC_05290501, with no id to follow), the data this request asked for is not in that
 * execution: `start` waits with backoff and executes the plan again once the running one is over. Incorta's
 * public API cannot list a plan's executions, so a worker killed during the execute call itself (announced,
 * never recorded) cannot find what it may have started: the plan then runs again after it (at least once, never
 * two at a time), and the log says so.
 */
import { PermanentUpstreamError } from '../../errors.js'
import { ownStart, PLAN_EXECUTION } from './incorta-ledger.js'
import { bodyExcerpt, isFailure, isTerminal, readPlanStatus } from './incorta-status.js'
import { clientFor, describeLoads, duration, nextWait, nowOf, settingsOf, timedOut, type Ctx, type IncortaHandlerDeps, type LoadRecord } from './incorta-state.js'

type Wait = { waitMs: number } | undefined

/** The "already running" backoff grows 1.5x per refusal up to this many poll intervals. */
const MAX_BLOCKED_INTERVALS = 4

export async function startPlan (deps: IncortaHandlerDeps, ctx: Ctx, loadPlanName: string): Promise<Wait> {
  if (ctx.state.executionId !== undefined) {
    ctx.log.info(`load plan ${loadPlanName}: execution ${ctx.state.executionId} was started earlier in this task; following it`)
    return undefined
  }
  const { tenant } = settingsOf(deps, ctx.component)
  const client = clientFor(deps, ctx.signal)
  const own = await ownStart(deps, ctx, PLAN_EXECUTION)
  if (own.seen === 'recorded' && own.id !== undefined) {
    if (await client.loadPlanStatus(tenant, own.id, ctx.signal) !== undefined) {
      ctx.log.info(`load plan ${loadPlanName}: execution ${own.id} was started by this request before the step was checkpointed (from this service's resource record); following it`)
      follow(ctx, loadPlanName, own.id)
      return undefined
    }
    ctx.log.info(`load plan ${loadPlanName}: execution ${own.id} (from this service's resource record) no longer exists in Incorta; executing the plan again`)
  } else if (own.seen === 'announced' && ctx.state.blockedSince === undefined) {
    ctx.log.warn(`load plan ${loadPlanName}: this request's execute may have reached Incorta before the worker stopped (announced in this service's resource record, never recorded), ` +
      'and Incorta\'s public API cannot list a plan\'s executions to find it: executing it again; while that one runs Incorta refuses a second, and this request waits for it to end')
  }
  await ctx.ledger.write(PLAN_EXECUTION, { creating: nowOf(deps), sent: own.sent })
  const started = await client.executeLoadPlan(tenant, loadPlanName, ctx.signal)
  if ('executionId' in started) {
    await ctx.ledger.write(PLAN_EXECUTION, { id: started.executionId, sent: own.sent })
    follow(ctx, loadPlanName, started.executionId)
    ctx.log.info(`load plan ${loadPlanName} started in tenant ${tenant}: execution ${started.executionId}`)
    return undefined
  }
  // Refused: nothing was started. An earlier announcement stays: its execution may be the one running.
  if (own.seen !== 'announced') await ctx.ledger.forget(PLAN_EXECUTION)
  const now = nowOf(deps)
  ctx.state.blockedSince ??= now
  if (timedOut(deps, ctx)) {
    throw new PermanentUpstreamError(`load plan ${loadPlanName} could not be started within ${duration(settingsOf(deps, ctx.component).timeoutMs)} (timeoutSeconds): another execution kept running (${started.message})`)
  }
  const poll = deps.config.pollIntervalMs
  const waitMs = ctx.state.blockedWaitMs === undefined ? poll : Math.min(Math.round(ctx.state.blockedWaitMs * 1.5), poll * MAX_BLOCKED_INTERVALS)
  ctx.state.blockedWaitMs = waitMs
  ctx.log.info(`load plan ${loadPlanName} is already running another execution (${started.message}); starting it again once that one is over, next try in ${duration(waitMs)}`)
  return { waitMs: nextWait(deps, ctx, waitMs) }
}

function follow (ctx: Ctx, loadPlanName: string, executionId: string): void {
  ctx.state.executionId = executionId
  ctx.state.accepted = true
  ctx.state.blockedSince = undefined
  ctx.state.blockedWaitMs = undefined
  ctx.state.loads = { [loadPlanName]: { state: 'queued' } }
}

export async function waitPlan (deps: IncortaHandlerDeps, ctx: Ctx, loadPlanName: string): Promise<Wait> {
  const executionId = ctx.state.executionId
  if (executionId === undefined) throw new Error('no execution id was recorded: the start step must run first')
  const { tenant } = settingsOf(deps, ctx.component)
  const status = await clientFor(deps, ctx.signal).loadPlanStatus(tenant, executionId, ctx.signal)
  if (status === undefined) throw new PermanentUpstreamError(`load plan ${loadPlanName} execution ${executionId} no longer exists in Incorta`)
  const body = status.body
  if (ctx.state.bodyLogged !== true) {
    ctx.log.debug(`Incorta status body of load plan execution ${executionId}: ${bodyExcerpt(body)}`)
    ctx.state.bodyLogged = true
  }
  const reading = readPlanStatus(body)
  const before = ctx.state.loads?.[loadPlanName]
  const record: LoadRecord = reading === undefined
    ? { state: 'unknown' }
    : { state: reading.state, word: reading.word, message: reading.message, startedAt: reading.startedAt, endedAt: reading.endedAt }
  ctx.state.loads = { [loadPlanName]: record }
  if (reading !== undefined && reading.schemas.length > 0) {
    ctx.state.planSchemas = Object.fromEntries(reading.schemas.map((s) => [s.schemaName, { state: s.state, word: s.word, message: s.message }]))
  }
  if (isTerminal(record.state)) {
    ctx.state.finishedAt = nowOf(deps)
    if (isFailure(record.state)) {
      const schemas = Object.entries(ctx.state.planSchemas ?? {}).filter(([, s]) => s.state !== 'not-started' && isFailure(s.state))
      const detail = schemas.length > 0 ? describeLoads(Object.fromEntries(schemas)) : (record.message ?? 'Incorta gave no reason')
      throw new PermanentUpstreamError(`load plan ${loadPlanName} execution ${executionId} ended ${record.word ?? record.state}: ${detail}`)
    }
    ctx.log.info(`load plan ${loadPlanName} execution ${executionId} ${record.word ?? 'succeeded'}`)
    return undefined
  }
  if (timedOut(deps, ctx)) {
    throw new PermanentUpstreamError(`load plan ${loadPlanName} execution ${executionId} did not finish within ${duration(settingsOf(deps, ctx.component).timeoutMs)} (timeoutSeconds; still ${record.word ?? record.state}); it was left running in Incorta`)
  }
  const say = `waiting for load plan ${loadPlanName} execution ${executionId}: ${record.word ?? 'state not readable yet'}`
  if (before?.word === record.word) ctx.log.debug(say)
  else ctx.log.info(say)
  return { waitMs: nextWait(deps, ctx, deps.config.pollIntervalMs) }
}
