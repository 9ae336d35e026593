/**
 * Executing a load plan. `start` executes it and records the execution id the moment Incorta gives it; a
 * resumed task with a recorded id follows that execution instead of starting another. When Incorta answers that
 * another execution of the plan is running (400 INC_05290501, with no id to follow), the data this request asked
 * for is not in that execution: `start` waits with backoff and executes the plan again once the running one is
 * over. Incorta's public API cannot list a plan's executions, so a worker killed between Incorta's answer and the
 * checkpoint cannot find its execution: the plan then runs again after it (at least once, never two at a time).
 */
import { PermanentUpstreamError } from '../../errors.js'
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
  const started = await clientFor(deps, ctx.signal).executeLoadPlan(tenant, loadPlanName, ctx.signal)
  if ('executionId' in started) {
    ctx.state.executionId = started.executionId
    ctx.state.accepted = true
    ctx.state.blockedSince = undefined
    ctx.state.blockedWaitMs = undefined
    ctx.state.loads = { [loadPlanName]: { state: 'queued' } }
    ctx.log.info(`load plan ${loadPlanName} started in tenant ${tenant}: execution ${started.executionId}`)
    return undefined
  }
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

export async function waitPlan (deps: IncortaHandlerDeps, ctx: Ctx, loadPlanName: string): Promise<Wait> {
  const executionId = ctx.state.executionId
  if (executionId === undefined) throw new Error('no execution id was recorded: the start step must run first')
  const { tenant } = settingsOf(deps, ctx.component)
  const body = await clientFor(deps, ctx.signal).loadPlanStatus(tenant, executionId, ctx.signal)
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
