/**
 * The Airbyte ingestion handler (`urn:dmb:utm:airbyte-standard`): a source, a destination and the connection
 * between them, optionally synced at provisioning. This module assembles the steps and reports the outcome;
 * the steps live in airbyte-provision-steps, airbyte-job-steps and airbyte-unprovision-steps.
 */
import type { ComponentInfo, ComponentOperation, Handler, Step, StepContext } from '../handler.js'
import { checkSpecific, checkUpstream } from './airbyte-checks.js'
import { jobSteps } from './airbyte-job-steps.js'
import { provisionResourceSteps } from './airbyte-provision-steps.js'
import { reverseProvision } from './airbyte-reverse.js'
import { airbyteSpecificSchema } from './airbyte-schema.js'
import { WorkspaceListings } from './airbyte-listing.js'
import type { AirbyteHandlerDeps, AirbyteState, AirbyteStepDeps } from './airbyte-state.js'
import { unprovisionSteps } from './airbyte-unprovision-steps.js'

export type { AirbyteHandlerDeps, AirbyteState } from './airbyte-state.js'

/**
 * The step lists of the release that checkpointed positions instead of names, frozen here (not derived from
 * the current lists) so its jobs in flight map `step: N` to the step it meant.
 */
const LEGACY_STEP_NAMES = {
  provision: ['resolve-workspace', 'ensure-source', 'ensure-destination', 'check-streams', 'ensure-connection', 'start-sync', 'wait-sync'],
  unprovision: ['find-resources', 'start-clear', 'wait-clear', 'delete-connection', 'delete-destination', 'delete-source'],
  updateacl: ['no-acl']
} as const

export function createAirbyteHandler (handlerDeps: AirbyteHandlerDeps): Handler<AirbyteState> {
  const deps: AirbyteStepDeps = { ...handlerDeps, listings: handlerDeps.listings ?? new WorkspaceListings(handlerDeps.config.listingTtlMs) }
  const steps: Record<ComponentOperation, ReadonlyArray<Step<AirbyteState>>> = {
    provision: [...provisionResourceSteps(deps), ...jobSteps(deps, 'sync')],
    unprovision: unprovisionSteps(deps),
    updateacl: [{
      name: 'no-acl',
      run: async (ctx) => { ctx.log.info('Airbyte connections have no consumer ACL; nothing changed') }
    }]
  }
  return {
    id: 'airbyte',
    useCaseTemplateIds: ['urn:dmb:utm:airbyte-standard'],
    specificSchema: airbyteSpecificSchema,
    checkSpecific: (component, ctx) => checkSpecific(deps, component, ctx),
    checkUpstream: async (ctx) => await checkUpstream(deps, ctx),
    steps: (operation) => steps[operation],
    // Version 1: AirbyteState as in airbyte-state.ts. Bump it (and add migrateState) when its meaning changes.
    stateVersion: 1,
    legacyStepNames: LEGACY_STEP_NAMES,
    outcome: (ctx) => ctx.operation === 'provision' ? { result: 'OK', info: provisionInfo(deps, ctx) } : { result: 'OK' },
    reverseProvision: async (ctx) => await reverseProvision(deps, ctx)
  }
}

function provisionInfo (deps: AirbyteHandlerDeps, ctx: StepContext<AirbyteState>): ComponentInfo {
  const { workspaceId, sourceId, destinationId, connectionId, job } = ctx.state
  const name = (ctx.component.specific as { connection?: { name?: string } } | undefined)?.connection?.name ?? connectionId
  const uiUrl = deps.config.uiUrl
  const publicInfo: Record<string, unknown> = {
    connection: uiUrl === undefined || workspaceId === undefined || connectionId === undefined
      ? { type: 'string', label: 'Airbyte connection', value: name }
      : { type: 'link', label: 'Airbyte connection', value: name, href: `${uiUrl}/workspaces/${workspaceId}/connections/${connectionId}` },
    connectionId: { type: 'string', label: 'Connection id', value: connectionId }
  }
  if (job !== undefined) {
    publicInfo.lastSync = { type: 'string', label: 'Last sync', value: job.status ?? 'unknown' }
    if (job.rowsSynced !== undefined) publicInfo.rowsSynced = { type: 'string', label: 'Rows synced', value: String(job.rowsSynced) }
  }
  const privateInfo: Record<string, unknown> = { workspaceId, sourceId, destinationId, connectionId }
  if (job !== undefined) privateInfo.lastJobId = job.jobId
  return { publicInfo, privateInfo }
}
