/**
 * The `specific` section of Incorta load components (`urn:dmb:utm:incorta-load`): its JSON Schema, the
 * TypeScript shape it guarantees, the offline rules a schema cannot say well (exactly one of `schemaNames` or
 * `loadPlanName`, no repeated or blank schema name), and the defaults. Closed, so a typo (`loadPlan`) is reported
 * instead of silently ignored.
 */
import type { InputProblem } from '../../errors.js'
import type { LoadSource } from './incorta-client.js'

export const LOAD_SOURCES = ['FULL', 'INCREMENTAL', 'STAGING'] as const

export interface IncortaSpecific {
  /** Default: the deployment's INCORTA_TENANT. */
  tenant?: string
  schemaNames?: string[]
  loadPlanName?: string
  /** Default FULL. */
  loadSource?: LoadSource
  /** Default true. */
  waitForCompletion?: boolean
  /** Bounds the whole wait, s. Default 3600. */
  timeoutSeconds?: number
}

export const DEFAULT_TIMEOUT_SECONDS = 3600

const ONE_OF_HINT = 'set either schemaNames (a list of the Incorta schemas to load) or loadPlanName (one Incorta load plan), not both'

const name = (description: string, hint: string): Record<string, unknown> =>
  ({ type: 'string', minLength: 1, maxLength: 255, pattern: '\\S', description, 'x-hint': hint, 'x-message': 'must be a non-blank name' })

export const incortaSpecificSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tenant: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[^/\\\\?#%\\s]+$',
      description: 'the Incorta tenant (case-sensitive); default: the deployment\'s INCORTA_TENANT',
      'x-message': 'must be a tenant name without spaces, slashes, ?, # or %',
      'x-hint': 'the tenant name as in the Incorta URL, e.g. demo'
    },
    schemaNames: {
      type: 'array',
      minItems: 1,
      maxItems: 500,
      items: name('an Incorta schema name', 'the schema name exactly as Incorta shows it (case-sensitive)'),
      description: 'the Incorta schemas to load',
      'x-hint': ONE_OF_HINT
    },
    loadPlanName: name('the Incorta load plan to execute', ONE_OF_HINT),
    loadSource: { enum: [...LOAD_SOURCES], description: 'FULL | INCREMENTAL | STAGING; default FULL' },
    waitForCompletion: { type: 'boolean', description: 'wait until the load ends; default true' },
    timeoutSeconds: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 2_592_000,
      description: 'bounds the whole wait, seconds; default 3600',
      'x-message': 'must be a positive number of seconds (at most 30 days)'
    }
  }
}

/** The rules beyond the schema; paths relative to `specific`. */
export function specificProblems (specific: IncortaSpecific): InputProblem[] {
  const problems: InputProblem[] = []
  const hasSchemas = specific.schemaNames !== undefined
  const hasPlan = specific.loadPlanName !== undefined
  if (hasSchemas && hasPlan) {
    problems.push({ path: 'loadPlanName', message: 'cannot be set together with schemaNames', hint: ONE_OF_HINT })
  } else if (!hasSchemas && !hasPlan) {
    problems.push({ path: 'schemaNames', message: 'is required (or loadPlanName)', hint: ONE_OF_HINT })
  }
  const seen = new Map<string, number>()
  for (const [i, schema] of (specific.schemaNames ?? []).entries()) {
    const first = seen.get(schema.trim())
    if (first !== undefined) {
      problems.push({ path: `schemaNames.${i}`, message: `schema "${schema}" is listed twice (also at schemaNames.${first})`, hint: 'list each schema once' })
    } else {
      seen.set(schema.trim(), i)
    }
    if (schema !== schema.trim()) {
      problems.push({ path: `schemaNames.${i}`, message: 'has leading or trailing spaces', hint: 'Incorta schema names are matched exactly' })
    }
  }
  if (specific.loadPlanName !== undefined && specific.loadPlanName !== specific.loadPlanName.trim()) {
    problems.push({ path: 'loadPlanName', message: 'has leading or trailing spaces', hint: 'Incorta load plan names are matched exactly' })
  }
  return problems
}

export interface ResolvedSpecific {
  tenant: string | undefined
  target: { kind: 'schemas', schemaNames: string[] } | { kind: 'plan', loadPlanName: string }
  loadSource: LoadSource
  waitForCompletion: boolean
  timeoutMs: number
}

/** The component's settings with the defaults applied (after validation). */
export function resolveSpecific (specific: IncortaSpecific, defaultTenant: string | undefined): ResolvedSpecific {
  return {
    tenant: specific.tenant ?? defaultTenant,
    target: specific.loadPlanName !== undefined
      ? { kind: 'plan', loadPlanName: specific.loadPlanName }
      : { kind: 'schemas', schemaNames: specific.schemaNames ?? [] },
    loadSource: specific.loadSource ?? 'FULL',
    waitForCompletion: specific.waitForCompletion ?? true,
    timeoutMs: (specific.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000
  }
}
