/**
 * The Incorta load handler (`urn:dmb:utm:incorta-load`): provisioning loads the component's schemas or executes
 * its load plan and follows it to the end; unprovisioning deletes nothing (the adapter creates nothing in
 * Incorta) and forgets the service's records of the loads it started (incorta-ledger); updateacl cannot be
 * served (Incorta's public API does not manage sharing). This module assembles the steps and reports the
 * outcome; the loads live in incorta-schema-load and incorta-plan-load.
 */
import { randomUUID } from 'node:crypto'
import { AdapterError } from '../../errors.js'
import type { ComponentInfo, ComponentOperation, Handler, Step } from '../handler.js'
import { checkSpecific, checkUpstream } from './incorta-checks.js'
import { tenantUiUrl } from './incorta-config.js'
import { PLAN_EXECUTION, SCHEMA_LOAD } from './incorta-ledger.js'
import { startPlan, waitPlan } from './incorta-plan-load.js'
import { reverseProvision } from './incorta-reverse.js'
import { prepareSchemas, startSchemas, waitSchemas } from './incorta-schema-load.js'
import { incortaSpecificSchema } from './incorta-schema.js'
import { describeLoads, duration, nowOf, settingsOf, type Ctx, type IncortaHandlerDeps, type IncortaState } from './incorta-state.js'

export type { IncortaHandlerDeps, IncortaState } from './incorta-state.js'

export const INCORTA_USE_CASE_TEMPLATE = 'urn:dmb:utm:incorta-load'

/** Why updateacl fails for Incorta components (documented in the README, "Incorta handler"). */
export class IncortaAclUnsupportedError extends AdapterError {
  constructor (refs: string[]) {
    super('PRV_ERR_INCORTA_ACL_UNSUPPORTED', 422,
      `Incorta's public API cannot manage users, groups or sharing, so access for ${refs.join(', ')} was not granted: ` +
      'share the schemas or dashboards with them in Incorta itself')
  }
}

function provisionSteps (deps: IncortaHandlerDeps): Array<Step<IncortaState>> {
  return [
    {
      name: 'prepare-load',
      run: async (ctx) => {
        const { tenant, target } = settingsOf(deps, ctx.component)
        ctx.state.tenant = tenant
        ctx.state.startedAt = nowOf(deps)
        ctx.state.requestKey = randomUUID()
        // Nothing is compared or updated in Incorta: its public API changes no schema, data source or load plan.
        ctx.log.info(target.kind === 'schemas'
          ? `schemas ${target.schemaNames.join(', ')} left as they are in Incorta (this adapter changes no schema); this provision loads them`
          : `load plan ${target.loadPlanName} left as it is in Incorta (this adapter changes no load plan); this provision executes it`)
        return target.kind === 'schemas' ? await prepareSchemas(deps, ctx, target.schemaNames) : undefined
      }
    },
    {
      name: 'start-load',
      run: async (ctx) => {
        const { target } = settingsOf(deps, ctx.component)
        return target.kind === 'schemas' ? await startSchemas(deps, ctx, target.schemaNames) : await startPlan(deps, ctx, target.loadPlanName)
      }
    },
    {
      name: 'wait-load',
      run: async (ctx) => {
        const { target, waitForCompletion } = settingsOf(deps, ctx.component)
        if (!waitForCompletion) {
          ctx.log.info('waitForCompletion is false: done as soon as Incorta accepted the load; it goes on in Incorta')
          return undefined
        }
        return target.kind === 'schemas' ? await waitSchemas(deps, ctx, target.schemaNames) : await waitPlan(deps, ctx, target.loadPlanName)
      }
    }
  ]
}

export function createIncortaHandler (deps: IncortaHandlerDeps): Handler<IncortaState> {
  const steps: Record<ComponentOperation, ReadonlyArray<Step<IncortaState>>> = {
    provision: provisionSteps(deps),
    unprovision: [{
      name: 'leave-data',
      run: async (ctx) => {
        ctx.log.info('nothing in Incorta is deleted: this adapter only loads schemas or runs load plans that exist in Incorta, and creates nothing there')
        if (ctx.removeData) ctx.log.warn('removeData is true, but Incorta\'s public API cannot remove loaded data: the data stays in Incorta; remove it there if it must go')
        // The component is gone: so are this service's records of the loads it started (nothing upstream to delete).
        await ctx.ledger.forget(SCHEMA_LOAD)
        await ctx.ledger.forget(PLAN_EXECUTION)
      }
    }],
    updateacl: [{
      name: 'no-acl',
      run: async (ctx) => {
        if (ctx.refs.length > 0) throw new IncortaAclUnsupportedError(ctx.refs)
        ctx.log.info('no identities requested and this adapter grants nothing in Incorta: nothing changed')
      }
    }]
  }
  return {
    id: 'incorta',
    useCaseTemplateIds: [INCORTA_USE_CASE_TEMPLATE],
    specificSchema: incortaSpecificSchema,
    checkSpecific: (component, ctx) => checkSpecific(deps, component, ctx),
    checkUpstream: async (ctx) => await checkUpstream(deps, ctx),
    steps: (operation) => steps[operation],
    // Version 1: IncortaState as in incorta-state.ts. Bump it (and add migrateState) when its meaning changes.
    stateVersion: 1,
    outcome: (ctx) => ctx.operation === 'provision' ? { result: 'OK', info: provisionInfo(deps, ctx) } : { result: 'OK' },
    reverseProvision: async (ctx) => await reverseProvision(deps, ctx)
  }
}

function provisionInfo (deps: IncortaHandlerDeps, ctx: Ctx): ComponentInfo {
  const { tenant, target, waitForCompletion, loadSource } = settingsOf(deps, ctx.component)
  const { state } = ctx
  const publicInfo: Record<string, unknown> = {
    loaded: target.kind === 'plan'
      ? { type: 'string', label: 'Incorta load plan', value: target.loadPlanName }
      : { type: 'string', label: 'Incorta schemas', value: target.schemaNames.join(', ') },
    finalState: {
      type: 'string',
      label: waitForCompletion ? 'Final state' : 'State',
      value: waitForCompletion ? describeLoads(state.loads ?? {}) : 'load accepted by Incorta (not waited for)'
    },
    loadSource: { type: 'string', label: 'Load source', value: loadSource }
  }
  if (state.startedAt !== undefined && state.finishedAt !== undefined) {
    publicInfo.duration = { type: 'string', label: 'Duration', value: duration(state.finishedAt - state.startedAt) }
    publicInfo.finishedAt = { type: 'date', label: 'Loaded at', value: new Date(state.finishedAt).toISOString() }
  }
  if (deps.config.url !== undefined) {
    publicInfo.incorta = { type: 'link', label: 'Incorta', value: `tenant ${tenant}`, href: tenantUiUrl(deps.config.url, tenant) }
  }
  const privateInfo: Record<string, unknown> = { tenant }
  if (state.executionId !== undefined) privateInfo.loadPlanExecutionId = state.executionId
  if (state.triggeredAt !== undefined) privateInfo.triggeredAt = new Date(state.triggeredAt).toISOString()
  return { publicInfo, privateInfo }
}
