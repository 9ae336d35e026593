/**
 * The Atlan catalog handler (`urn:dmb:utm:atlan-catalog`): a Connection with its admins, optionally an API
 * token made a connection admin, and a Persona with policies on the connection whose members updateacl manages.
 * This module assembles the steps (each paused, not failed, by Atlan's rate limit) and reports the outcome; the
 * steps live in the atlan-*-steps modules.
 */
import type { ComponentInfo, ComponentOperation, Handler, Step, StepContext } from '../handler.js'
import { aclSteps } from './atlan-acl-steps.js'
import { checkSpecific, checkUpstream } from './atlan-checks.js'
import { connectionSteps, reconcileAdminsStep } from './atlan-connection-steps.js'
import { personaSteps } from './atlan-persona-steps.js'
import { pauseWhenThrottled } from './atlan-rate-limit.js'
import { reverseProvision } from './atlan-reverse.js'
import { atlanSpecificSchema } from './atlan-schema.js'
import { listed, type AtlanHandlerDeps, type AtlanState } from './atlan-state.js'
import { tokenSteps } from './atlan-token-steps.js'
import { unprovisionSteps } from './atlan-unprovision-steps.js'

export type { AtlanHandlerDeps, AtlanState } from './atlan-state.js'

export function createAtlanHandler (deps: AtlanHandlerDeps): Handler<AtlanState> {
  const steps: Record<ComponentOperation, ReadonlyArray<Step<AtlanState>>> = {
    provision: [...connectionSteps(deps), ...tokenSteps(deps), reconcileAdminsStep(deps), ...personaSteps(deps)].map(pauseWhenThrottled),
    unprovision: unprovisionSteps(deps).map(pauseWhenThrottled),
    updateacl: aclSteps(deps).map(pauseWhenThrottled)
  }
  return {
    id: 'atlan',
    useCaseTemplateIds: ['urn:dmb:utm:atlan-catalog'],
    specificSchema: atlanSpecificSchema,
    checkSpecific: (component, ctx) => checkSpecific(component, ctx),
    checkUpstream: async (ctx) => await checkUpstream(deps, ctx),
    steps: (operation) => steps[operation],
    // Version 1: AtlanState as in atlan-state.ts. Bump it (and add migrateState) when its meaning changes.
    stateVersion: 1,
    outcome: (ctx) => outcome(deps, ctx),
    reverseProvision: async (ctx) => await reverseProvision(deps, ctx)
  }
}

function outcome (deps: AtlanHandlerDeps, ctx: StepContext<AtlanState>): { result: string, info?: ComponentInfo } {
  if (ctx.operation === 'provision') {
    const unmapped = ctx.state.unmappedAdmins ?? []
    return { result: unmapped.length > 0 ? `OK; connection admins not mapped to Atlan: ${listed(unmapped)}` : 'OK', info: provisionInfo(deps, ctx) }
  }
  if (ctx.operation === 'updateacl') {
    const unmapped = ctx.state.members?.unmapped ?? []
    return { result: unmapped.length > 0 ? `OK; not mapped to an Atlan user or group, so not given access: ${listed(unmapped)}` : 'OK' }
  }
  return { result: 'OK' }
}

function provisionInfo (deps: AtlanHandlerDeps, ctx: StepContext<AtlanState>): ComponentInfo {
  const { connection, persona, policies, apiToken } = ctx.state
  const base = deps.config.url
  const publicInfo: Record<string, unknown> = {}
  const privateInfo: Record<string, unknown> = {}
  if (connection !== undefined) {
    publicInfo.connection = base === undefined
      ? { type: 'string', label: 'Atlan connection', value: connection.name }
      : { type: 'link', label: 'Atlan connection', value: connection.name, href: `${base}/assets/${connection.guid}/overview` }
    publicInfo.connectionQualifiedName = { type: 'string', label: 'Connection qualified name', value: connection.qualifiedName }
    Object.assign(privateInfo, { connectionGuid: connection.guid, connectionQualifiedName: connection.qualifiedName })
  }
  if (persona !== undefined) {
    publicInfo.persona = base === undefined
      ? { type: 'string', label: 'Atlan persona', value: persona.name }
      : { type: 'link', label: 'Atlan persona', value: persona.name, href: `${base}/governance/personas/${persona.guid}` }
    Object.assign(privateInfo, { personaGuid: persona.guid, personaQualifiedName: persona.qualifiedName, policies: policies ?? {} })
  }
  if (apiToken !== undefined) {
    privateInfo.apiTokenGuid = apiToken.guid
    if (apiToken.run !== undefined) privateInfo.apiTokenWorkflow = { template: apiToken.run.templateName, run: apiToken.run.runName, how: apiToken.run.how, phase: apiToken.run.phase }
  }
  return { publicInfo, privateInfo }
}
