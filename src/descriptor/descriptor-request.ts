/**
 * Everything a request's descriptors cost, in one call that runs the same on the event loop (small inputs) and in
 * a pool thread (descriptor-parse-worker.ts): parse and validate `descriptor`, then parse `latestEnrichedDescriptor`
 * and attach its `info`. The answer is plain data (it crosses threads by structured clone): the validated
 * descriptor with the lines to log, or the problems with whether a limit was passed. Scrubbing the problems and
 * writing the log lines are the caller's, on the main thread, where the scrubber knows the secret values.
 */
import { DescriptorInvalidError, type InputProblem } from '../errors.js'
import type { SecretLookup } from '../secrets/secret-store.js'
import type { SecretScope } from '../secrets/secret-scope.js'
import { DescriptorLimitError, type DescriptorLimits } from './descriptor-limits.js'
import { validateDescriptor, type HandlerRouting } from './descriptor-validator.js'
import { attachEnrichedInfo } from './enriched-info.js'
import type { ValidatedDescriptor } from './types.js'

export interface DescriptorRequest {
  descriptorKind: unknown
  descriptor: unknown
  /** Unprovision only: the data product as deployed, to take each component's previous `info` from. */
  latestEnrichedDescriptor?: string
}

export type DescriptorOutcome =
  | { ok: true, validated: ValidatedDescriptor, logs: string[] }
  | { ok: false, problems: InputProblem[], limit: boolean }

export interface DescriptorRequestDeps {
  routing: HandlerRouting
  /** Whether a secret reference resolves in the scope (only `kind` is read; a found value may be left empty). */
  lookup: (name: string, scope: SecretScope) => SecretLookup
  limits: Pick<DescriptorLimits, 'maxBytes' | 'maxNodes' | 'maxKeysPerMapping'>
}

export function runDescriptorRequest (request: DescriptorRequest, deps: DescriptorRequestDeps): DescriptorOutcome {
  const logs: string[] = []
  try {
    const validated = validateDescriptor(request.descriptorKind, request.descriptor, {
      routing: deps.routing,
      secrets: { lookup: deps.lookup },
      ...deps.limits,
      log: (line) => { logs.push(line) }
    })
    if (request.latestEnrichedDescriptor !== undefined) attachEnrichedInfo(validated, request.latestEnrichedDescriptor, deps.limits)
    return { ok: true, validated, logs }
  } catch (err) {
    if (err instanceof DescriptorInvalidError) return { ok: false, problems: err.problems, limit: err instanceof DescriptorLimitError }
    throw err
  }
}
