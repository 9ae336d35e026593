/**
 * Loading a list of schemas. Incorta's `/schema/load` returns no job id, so a load job is recognised by time:
 * `prepare` records each schema's latest job and the trigger time (checkpointed before anything is started),
 * `start` announces the load in the service's resource ledger, sends it, and records Incorta's answer
 * (incorta-ledger). Run again after a kill, it starts nothing when the ledger holds the answer, starts the load
 * without looking when this request announced none, and otherwise looks each schema's jobs up by name and starts
 * only the schemas with no job of this request (so a kill during the call never loads a schema twice). `wait`
 * follows each schema's latest job of this request until every one is terminal. The waits return `{ waitMs }`;
 * nothing holds a worker slot.
 */
import { PermanentUpstreamError } from '../../errors.js'
import { ownStart, SCHEMA_LOAD } from './incorta-ledger.js'
import { bodyExcerpt, countsAsOurs, isFailure, isTerminal, readLoadAccepted, readSchemaStatus, readState, type LoadReading } from './incorta-status.js'
import { clientFor, describeLoads, duration, nextWait, nowOf, settingsOf, timedOut, type Ctx, type IncortaHandlerDeps, type LoadRecord } from './incorta-state.js'

type Wait = { waitMs: number } | undefined

async function latestJob (deps: IncortaHandlerDeps, ctx: Ctx, tenant: string, schema: string): Promise<LoadReading | undefined> {
  const body = await clientFor(deps, ctx.signal).schemaStatus(tenant, schema, ctx.signal)
  if (ctx.state.bodyLogged !== true) {
    // The status bodies are not publicly documented: keep one raw sample in the task log for whoever checks the parser.
    ctx.log.debug(`Incorta status body of schema ${schema}: ${bodyExcerpt(body)}`)
    ctx.state.bodyLogged = true
  }
  return readSchemaStatus(body)
}

export async function prepareSchemas (deps: IncortaHandlerDeps, ctx: Ctx, schemaNames: string[]): Promise<Wait> {
  const { tenant } = settingsOf(deps, ctx.component)
  const baselines: Record<string, { seen: boolean, startedAt?: number }> = {}
  for (const schema of schemaNames) {
    const job = await latestJob(deps, ctx, tenant, schema)
    baselines[schema] = job === undefined ? { seen: false } : { seen: true, startedAt: job.startedAt }
  }
  ctx.state.baselines = baselines
  ctx.state.triggeredAt = nowOf(deps)
  return undefined
}

export async function startSchemas (deps: IncortaHandlerDeps, ctx: Ctx, schemaNames: string[]): Promise<Wait> {
  if (ctx.state.accepted === true) return undefined
  const { tenant, loadSource } = settingsOf(deps, ctx.component)
  const done = (): undefined => {
    ctx.state.accepted = true
    ctx.state.loads = Object.fromEntries(schemaNames.map((s) => [s, { state: 'not-started' } satisfies LoadRecord]))
    return undefined
  }
  const own = await ownStart(deps, ctx, SCHEMA_LOAD)
  if (own.seen === 'recorded') {
    ctx.log.info(`Incorta accepted this request's load of ${schemaNames.join(', ')} before the step was checkpointed (this service's resource record says so); not starting another`)
    return done()
  }
  // Only a start that may have been sent needs the schemas looked up: without one, none has a job of this request.
  const missing = own.seen === 'none' ? schemaNames : await withoutOwnJob(deps, ctx, tenant, schemaNames, own.seen)
  if (missing.length > 0) {
    await ctx.ledger.write(SCHEMA_LOAD, { creating: nowOf(deps), sent: own.sent })
    const answer = readLoadAccepted(await clientFor(deps, ctx.signal).startSchemaLoad(tenant, missing, loadSource, ctx.signal))
    await ctx.ledger.write(SCHEMA_LOAD, { sent: own.sent })
    // A load refused on the spot never shows up as a load job: waiting for it would only end at the timeout.
    const refused = missing.filter((s) => isFailure(readState(answer[s])))
    if (refused.length > 0) {
      throw new PermanentUpstreamError(`Incorta did not start the load of ${refused.map((s) => `${s} (${answer[s] ?? ''})`).join(', ')}`)
    }
    const words = missing.map((s) => answer[s] === undefined ? s : `${s} (${answer[s]})`).join(', ')
    ctx.log.info(`Incorta accepted the ${loadSource} load of ${words} in tenant ${tenant}`)
  }
  return done()
}

/** The schemas with no load job of this request yet, each looked up by name (Incorta gives a load no id). */
async function withoutOwnJob (deps: IncortaHandlerDeps, ctx: Ctx, tenant: string, schemaNames: string[], why: 'announced' | 'unknown'): Promise<string[]> {
  ctx.log.info(why === 'announced'
    ? 'this request\'s load may have reached Incorta before the worker stopped (announced in this service\'s resource record, never recorded): looking each schema\'s load jobs up'
    : 'this load was prepared by a release that kept no resource record: looking each schema\'s load jobs up')
  const triggeredAt = ctx.state.triggeredAt ?? nowOf(deps)
  const missing: string[] = []
  for (const schema of schemaNames) {
    const job = await latestJob(deps, ctx, tenant, schema)
    if (job !== undefined && countsAsOurs(job, triggeredAt, ctx.state.baselines?.[schema] ?? { seen: false })) {
      ctx.log.info(`schema ${schema}: a load started by this request is already ${job.word}; not starting another`)
    } else {
      missing.push(schema)
    }
  }
  return missing
}

export async function waitSchemas (deps: IncortaHandlerDeps, ctx: Ctx, schemaNames: string[]): Promise<Wait> {
  const { tenant } = settingsOf(deps, ctx.component)
  const triggeredAt = ctx.state.triggeredAt ?? 0
  const loads: Record<string, LoadRecord> = { ...ctx.state.loads }
  const before = describeLoads(loads)
  for (const schema of schemaNames) {
    const known = loads[schema]
    if (known !== undefined && known.state !== 'not-started' && isTerminal(known.state)) continue
    const job = await latestJob(deps, ctx, tenant, schema)
    // An older job (before this request's trigger) says nothing about the load this request asked for.
    if (job === undefined || !countsAsOurs(job, triggeredAt, ctx.state.baselines?.[schema] ?? { seen: false })) {
      loads[schema] = { state: 'not-started' }
      continue
    }
    loads[schema] = { state: job.state, word: job.word, message: job.message, startedAt: job.startedAt, endedAt: job.endedAt }
  }
  ctx.state.loads = loads
  const records = Object.values(loads)
  if (records.every((l) => l.state !== 'not-started' && isTerminal(l.state))) {
    ctx.state.finishedAt = nowOf(deps)
    const failed = Object.entries(loads).filter(([, l]) => l.state !== 'not-started' && isFailure(l.state))
    if (failed.length > 0) {
      throw new PermanentUpstreamError(`Incorta load of ${failed.map(([s]) => s).join(', ')} did not succeed: ${describeLoads(Object.fromEntries(failed))}`)
    }
    ctx.log.info(`every schema loaded: ${describeLoads(loads)}`)
    return undefined
  }
  if (timedOut(deps, ctx)) {
    const { timeoutMs } = settingsOf(deps, ctx.component)
    throw new PermanentUpstreamError(`Incorta load did not finish within ${duration(timeoutMs)} (timeoutSeconds): ${describeLoads(loads)}; it was left running in Incorta`)
  }
  const now = describeLoads(loads)
  const say = `waiting for Incorta: ${now}`
  if (now === before) ctx.log.debug(say)
  else ctx.log.info(say)
  return { waitMs: nextWait(deps, ctx, deps.config.pollIntervalMs) }
}
