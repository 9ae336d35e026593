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
import type { OwnedResource } from '../handler.js'
import { ownStart, PLAN_EXECUTION } from './incorta-ledger.js'
import { bodyExcerpt, isFailure, isTerminal, readPlanStatus, type PlanExecutionReading } from './incorta-status.js'
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
  const blocking = ctx.state.blockingExecutionId
  if (blocking !== undefined) {
    // Waiting for a known execution is a read; asking to execute again would only be refused until it is over.
    const reading = await executionReading(deps, ctx, blocking)
    if (reading !== undefined && !isTerminal(reading.state)) {
      return blockedWait(deps, ctx, loadPlanName, { log: `waits for execution ${blocking}, still ${reading.word}`, level: 'debug', kept: `execution ${blocking} kept running` })
    }
    ctx.state.blockingExecutionId = undefined
    ctx.log.info(`load plan ${loadPlanName}: execution ${blocking} is ${reading === undefined ? 'no longer known to Incorta' : `over (${reading.word})`}; executing the plan`)
  }
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
  // Refused: nothing was started. An announcement of this request stays (its execution may be the one running);
  // otherwise the earlier request's record comes back.
  const earlier = own.seen === 'none' || own.seen === 'unknown' ? own.earlier : undefined
  if (own.seen !== 'announced') await (earlier === undefined ? ctx.ledger.forget(PLAN_EXECUTION) : ctx.ledger.write(PLAN_EXECUTION, earlier))
  const running = await runningKnownExecution(deps, ctx, loadPlanName, earlier)
  if (running !== undefined) {
    ctx.state.blockingExecutionId = running.id
    return blockedWait(deps, ctx, loadPlanName, {
      log: `is busy with execution ${running.id} (from ${running.from}), still ${running.word}; executing the plan once that one is over, reading its state by id until then`,
      level: 'info',
      kept: `execution ${running.id} kept running`
    })
  }
  return blockedWait(deps, ctx, loadPlanName, {
    log: `is already running another execution (${started.message}); starting it again once that one is over`,
    level: 'info',
    kept: `another execution kept running (${started.message})`
  })
}

/** The plan's reading of that execution, or undefined when Incorta no longer knows it. */
async function executionReading (deps: IncortaHandlerDeps, ctx: Ctx, executionId: string): Promise<PlanExecutionReading | { state: 'unknown', word: string } | undefined> {
  const status = await clientFor(deps, ctx.signal).loadPlanStatus(settingsOf(deps, ctx.component).tenant, executionId, ctx.signal)
  if (status === undefined) return undefined
  // An unreadable state counts as still running, as everywhere (incorta-status).
  return readPlanStatus(status.body) ?? { state: 'unknown', word: 'in a state not readable' }
}

/**
 * Incorta runs one execution of a plan at a time and its refusal names none: when an execution this service
 * knows of (an earlier request's, from the resource record or the deployed descriptor's privateInfo) is of
 * this plan and not over, it is the one running, and its end can be read by id instead of asked for by executing
 * again. A status body that names no plan cannot say so: then the plan is asked again, as for any execution.
 */
async function runningKnownExecution (deps: IncortaHandlerDeps, ctx: Ctx, loadPlanName: string, earlier: OwnedResource | undefined): Promise<{ id: string, from: string, word: string } | undefined> {
  const known: Array<{ id: string, from: string }> = []
  if (earlier?.id !== undefined) known.push({ id: earlier.id, from: 'this service\'s resource record' })
  const deployed = ctx.component.info?.privateInfo?.loadPlanExecutionId
  if (typeof deployed === 'string' && deployed !== '' && !known.some((k) => k.id === deployed)) known.push({ id: deployed, from: 'the deployed descriptor\'s privateInfo' })
  for (const { id, from } of known) {
    const reading = await executionReading(deps, ctx, id)
    // Only an execution Incorta says is of this plan: the component may have named another plan before.
    if (reading !== undefined && 'schemas' in reading && reading.planName === loadPlanName && !isTerminal(reading.state)) return { id, from, word: reading.word }
  }
  return undefined
}

/** Waits with a backoff that grows while the plan stays busy, failing once timeoutSeconds is over. */
function blockedWait (deps: IncortaHandlerDeps, ctx: Ctx, loadPlanName: string, why: { log: string, level: 'info' | 'debug', kept: string }): Wait {
  ctx.state.blockedSince ??= nowOf(deps)
  if (timedOut(deps, ctx)) {
    throw new PermanentUpstreamError(`load plan ${loadPlanName} could not be started within ${duration(settingsOf(deps, ctx.component).timeoutMs)} (timeoutSeconds): ${why.kept}`)
  }
  const poll = deps.config.pollIntervalMs
  const waitMs = ctx.state.blockedWaitMs === undefined ? poll : Math.min(Math.round(ctx.state.blockedWaitMs * 1.5), poll * MAX_BLOCKED_INTERVALS)
  ctx.state.blockedWaitMs = waitMs
  ctx.log[why.level](`load plan ${loadPlanName} ${why.log}, next try in ${duration(waitMs)}`)
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
