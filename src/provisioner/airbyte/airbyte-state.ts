/**
 * What the Airbyte handler's steps share: the checkpointed state, the handler's dependencies, and reading the
 * component's `specific`. The state holds ids and progress only, never a configuration or a secret.
 */
import { DescriptorInvalidError } from '../../errors.js'
import type { AirbyteConfig } from './airbyte-config.js'
import type { Component } from '../../descriptor/types.js'
import type { AirbyteClient, JobType, StreamConfiguration } from './airbyte-client.js'
import type { WorkspaceListings } from './airbyte-listing.js'
import type { AirbyteSpecific } from './airbyte-schema.js'

/** A sync or clear job this task started or adopted. */
export interface TrackedJob {
  jobId: number
  jobType: JobType
  /** Epoch ms when this task started or adopted it; the timeout counts from here. */
  watchedSince: number
  /** The current poll interval, grown 1.5x per poll. */
  pollMs?: number
  status?: string
  rowsSynced?: number
  bytesSynced?: number
}

export interface AirbyteState {
  workspaceId?: string
  sourceId?: string
  destinationId?: string
  connectionId?: string
  /** The stream selection sent to Airbyte, from the descriptor and the source's catalog. */
  streams?: StreamConfiguration[]
  job?: TrackedJob
  /** Epoch ms since when a job start keeps being refused with no job to adopt. */
  jobStartBlockedSince?: number
  /** The source lookup listed a workspace with no source at all: no connection can exist there either. */
  noSourcesBefore?: boolean
}

export interface AirbyteHandlerDeps {
  config: AirbyteConfig
  /** A client, or a factory called once per step (lets the caller build it lazily, e.g. when Airbyte is unset). */
  client: AirbyteClient | ((signal?: AbortSignal) => AirbyteClient)
  /** Name lookups shared by this process's tasks. Default: one per handler, AIRBYTE_LISTING_TTL_MS long. */
  listings?: WorkspaceListings
}

/** What the steps get: the handler's dependencies with the defaults filled in. */
export type AirbyteStepDeps = AirbyteHandlerDeps & { listings: WorkspaceListings }

export function clientFor (deps: AirbyteHandlerDeps, signal?: AbortSignal): AirbyteClient {
  return typeof deps.client === 'function' ? deps.client(signal) : deps.client
}

/** The component's `specific`, already validated against airbyteSpecificSchema. */
export function specificOf (component: Component): AirbyteSpecific {
  const specific = component.specific as Partial<AirbyteSpecific> | undefined
  if (specific?.source === undefined || specific.destination === undefined || specific.connection === undefined) {
    throw new DescriptorInvalidError([{ path: 'specific', message: 'the Airbyte specific section needs source, destination and connection' }])
  }
  return specific as AirbyteSpecific
}

export function workspaceOf (specific: Partial<AirbyteSpecific> | undefined, config: AirbyteConfig): string | undefined {
  return specific?.workspaceId ?? config.workspaceId
}

export const WORKSPACE_HINT = 'set specific.workspaceId, or configure AIRBYTE_WORKSPACE_ID for the deployment'

export function requireWorkspace (specific: Partial<AirbyteSpecific> | undefined, config: AirbyteConfig): string {
  const ws = workspaceOf(specific, config)
  if (ws === undefined) throw new DescriptorInvalidError([{ path: 'workspaceId', message: 'no Airbyte workspace is named', hint: WORKSPACE_HINT }])
  return ws
}
