/**
 * The one interface every target handler (Airbyte, Incorta, Atlan) implements. The queue engine drives it;
 * handlers never see HTTP, BullMQ or Redis. Work is a list of named steps, each safe to run twice: the engine
 * checkpoints `state` and the names of the steps done after every step, so a killed worker resumes at the step
 * that was running, even when a new release has added, removed or reordered steps (src/queue/step-checkpoint.ts).
 */
import type { InputProblem } from '../errors.js'
import type { Component, DataProduct } from '../descriptor/types.js'

export type ComponentOperation = 'provision' | 'unprovision' | 'updateacl'

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR'

/** Writes to the task's `logs[]` (what the orchestrator shows), tagged with the current step as `phase`. */
export interface TaskLog {
  debug: (message: string) => void
  info: (message: string) => void
  warn: (message: string) => void
  error: (message: string) => void
}

/** Resolves `${secret:NAME}` references at call time. Resolved values are remembered so logs can redact them. */
export interface SecretResolver {
  /** A deep copy of `value` with every `${secret:NAME}` string replaced by the secret's value. */
  resolve: <T>(value: T) => Promise<T>
}

export interface ComponentInfo {
  publicInfo: Record<string, unknown>
  privateInfo: Record<string, unknown>
}

/** What the service recorded of one resource a component owns upstream (never a secret or a plain hash). */
export interface OwnedResource {
  /** The target's id of the resource; absent while a create is in flight. */
  id?: string
  /** Fingerprint (ResourceLedger.fingerprint) of what this service last sent for it. */
  sent?: string
  /** Epoch ms a create was started at and not yet known to have returned: a resume must look the name up afresh. */
  creating?: number
}

/**
 * The service's own durable record of the resources each component owns upstream, by the handler's kind names
 * (`source`, `connection`, ...). A handler writes an entry the moment a create returns, removes it when the
 * resource is deleted, and corrects it when the target says otherwise, so a later task finds its resources by id.
 */
export interface ResourceLedger {
  read: () => Promise<Record<string, OwnedResource>>
  write: (kind: string, entry: OwnedResource) => Promise<void>
  forget: (kind: string) => Promise<void>
  /**
   * HMAC-SHA256, keyed per deployment, of the canonical JSON of `value`: two equal values give equal
   * fingerprints, and a stored fingerprint reveals nothing of a secret inside the value.
   */
  fingerprint: (value: unknown) => Promise<string>
}

export interface StepContext<S extends object> {
  operation: ComponentOperation
  component: Component
  dataProduct: DataProduct
  /** Unprovision only: also delete the data the component produced. */
  removeData: boolean
  /** Updateacl only: the desired identities, normalised to refs (`user:alice_company.com`, `group:analysts`). */
  refs: string[]
  /** Handler-owned checkpoint, JSON-serialisable; persisted after every step and handed back on resume. */
  state: S
  log: TaskLog
  secrets: SecretResolver
  /** Aborted when the worker shuts down: finish or give up the current call quickly. */
  signal: AbortSignal
  /**
   * The info of the components this one lists in `dependsOn` that completed earlier in the same task (a
   * DATAPRODUCT_DESCRIPTOR task), keyed by component id; empty for a single-component task or a dependency
   * that this task did not run. Read-only.
   */
  dependencies: Readonly<Record<string, ComponentInfo>>
  /** The durable record of this component's resources, kept by this handler across tasks. */
  ledger: ResourceLedger
}

/**
 * What a step returns: nothing when it is done (the engine moves to the next step), or `{ waitMs }` to have the
 * same step run again after that delay. The wait happens in BullMQ's delayed set, not in a worker slot.
 */
export type StepOutcome = undefined | { waitMs: number }

export interface Step<S extends object> {
  /**
   * Shown as the log `phase` and recorded in the checkpoint when done: stable across releases. Renaming a step
   * makes jobs in flight run it again (it is safe to run twice).
   */
  name: string
  run: (ctx: StepContext<S>) => Promise<StepOutcome>
}

export interface CheckContext {
  dataProduct: DataProduct
  /** Is a `${secret:NAME}` reference resolvable in this deployment? */
  hasSecret: (name: string) => boolean
}

export interface SpecificCheck {
  /** Paths are relative to the component's `specific` (e.g. `connection.schedule.cronExpression`). */
  problems: InputProblem[]
  /** Non-fatal remarks (a legacy field ignored, a default applied). */
  warnings: string[]
}

export interface UpstreamCheckContext {
  component: Component
  dataProduct: DataProduct
  log: TaskLog
  secrets: SecretResolver
  signal: AbortSignal
}

export interface ReverseProvisioningContext {
  useCaseTemplateId: string
  environment: string
  params: Record<string, unknown>
  catalogInfo: Record<string, unknown>
  log: TaskLog
  signal: AbortSignal
}

export interface Handler<S extends object = Record<string, unknown>> {
  /** Short stable id, e.g. `airbyte`; used in config (`DEFAULT_HANDLER`) and the checkpoint. */
  readonly id: string
  /** useCaseTemplateId prefixes this handler claims, without the trailing version (`urn:dmb:utm:airbyte-standard`). */
  readonly useCaseTemplateIds: readonly string[]
  /** JSON Schema (draft 2020-12 subset Ajv understands) of the component's `specific` section. */
  readonly specificSchema: Record<string, unknown>
  /** Offline semantic checks, run after the schema passed. Must be quick and side-effect free. */
  checkSpecific: (component: Component, ctx: CheckContext) => SpecificCheck
  /** Checks that need the target (is the config accepted, do the streams exist); read-only. */
  checkUpstream: (ctx: UpstreamCheckContext) => Promise<SpecificCheck>
  /** The resumable steps of an operation, in order; names unique per operation. */
  steps: (operation: ComponentOperation) => ReadonlyArray<Step<S>>
  /**
   * Version of the `state` layout, checkpointed with it. Bump it when a release changes what the state holds
   * or means, and teach `migrateState` the previous layouts. Default 1.
   */
  readonly stateVersion?: number
  /**
   * Turns a state checkpointed at `fromVersion` (lower than `stateVersion`) into the current layout, or returns
   * undefined when it cannot: the component then fails with a message asking to submit the request again.
   */
  migrateState?: (fromVersion: number, state: Record<string, unknown>, operation: ComponentOperation) => object | undefined
  /**
   * The step names, per operation, of the release that checkpointed a position (`step: 3`) instead of names:
   * lets its jobs resume. Without it such a checkpoint (past its first step) fails the component clearly.
   */
  readonly legacyStepNames?: Partial<Record<ComponentOperation, readonly string[]>>
  /** After the last step: the short `result` and the `info` to report for this component. */
  outcome: (ctx: StepContext<S>) => { result: string, info?: ComponentInfo }
  /** Describe an existing target resource as this handler's `specific` section (read-only). */
  reverseProvision: (ctx: ReverseProvisioningContext) => Promise<{ updates: Record<string, unknown> }>
  /** Releases what the handler holds (token refresh timers, sockets) when the worker or API closes. Optional. */
  close?: () => Promise<void>
}
