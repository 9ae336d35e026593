/**
 * Descriptor validation as a decorator: the handler registry (routing and each handler's `specific` schema),
 * the secret store (references must name a granted secret) and the limits of descriptor-limits.ts, bound once.
 * Small inputs are validated on the event loop; larger ones in a worker-thread pool with a deadline, so no
 * request, however hostile, keeps the event loop (and /health/live) waiting. The pool closes with the app.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { DescriptorInvalidError, type InputProblem } from '../errors.js'
import { DescriptorLimitError, LIMIT_VARIABLES, type DescriptorLimits } from '../descriptor/descriptor-limits.js'
import { DescriptorParsePool, ParseTimeoutError } from '../descriptor/descriptor-parse-pool.js'
import { runDescriptorRequest, type DescriptorOutcome, type DescriptorRequest } from '../descriptor/descriptor-request.js'
import type { ValidatedDescriptor } from '../descriptor/types.js'
import type { HandlerRegistry } from '../provisioner/handler-registry.js'
import { handlerConfigWithoutCredentials, type HandlerConfig } from '../provisioner/handler-set.js'
import type { SecretStore } from '../secrets/secret-store.js'

export interface ValidateDescriptorOptions {
  /** Unprovision: the deployed data product, whose components' `info` is attached; held to the same limits. */
  latestEnrichedDescriptor?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    registry: HandlerRegistry
    /** Throws DescriptorInvalidError listing every problem (a DescriptorLimitError when a limit was passed). */
    validateDescriptor: (descriptorKind: unknown, descriptor: unknown, options?: ValidateDescriptorOptions) => Promise<ValidatedDescriptor>
  }
}

export interface DescriptorValidationOptions {
  registry: HandlerRegistry
  secrets: SecretStore
  limits: DescriptorLimits
  /**
   * What the pool's threads build their own registry from (the same createHandlerRegistry as `registry`'s).
   * Without it every descriptor is validated on the event loop. Credentials are removed before it is handed over.
   */
  handlers?: HandlerConfig
}

export default fp(async function descriptorValidation (app: FastifyInstance, opts: DescriptorValidationOptions) {
  const { limits, secrets } = opts
  const pool = opts.handlers === undefined
    ? undefined
    : new DescriptorParsePool({ handlers: handlerConfigWithoutCredentials(opts.handlers), limits: parseLimits(limits) }, limits, secrets)
  app.addHook('onClose', async () => { await pool?.close() })

  const outcomeOf = async (request: DescriptorRequest): Promise<DescriptorOutcome> => {
    if (pool === undefined || !exceeds(request, limits.inlineMaxBytes)) {
      return runDescriptorRequest(request, { routing: opts.registry, lookup: secrets.lookup, limits: parseLimits(limits) })
    }
    try {
      return await pool.run(request)
    } catch (err) {
      if (!(err instanceof ParseTimeoutError)) throw err
      return { ok: false, limit: true, problems: [timeoutProblem(request, limits.parseTimeoutMs)] }
    }
  }

  app.decorate('registry', opts.registry)
  app.decorate('validateDescriptor', async (descriptorKind: unknown, descriptor: unknown, options: ValidateDescriptorOptions = {}) => {
    const request: DescriptorRequest = { descriptorKind, descriptor }
    if (options.latestEnrichedDescriptor !== undefined) request.latestEnrichedDescriptor = options.latestEnrichedDescriptor
    const outcome = await outcomeOf(request)
    if (outcome.ok) {
      for (const line of outcome.logs) app.log.info(secrets.scrubber.scrub(line))
      return outcome.validated
    }
    // Problems quote the descriptor, which may hold a secret's value in clear: masked here, where values are known.
    const scrub = (text: string): string => secrets.scrubber.scrub(text)
    const problems = outcome.problems.map((p) => ({ ...p, message: scrub(p.message), ...(p.hint === undefined ? {} : { hint: scrub(p.hint) }) }))
    throw outcome.limit ? new DescriptorLimitError(problems) : new DescriptorInvalidError(problems)
  })
}, { name: 'descriptor-validation', fastify: '5.x' })

function parseLimits (limits: DescriptorLimits): Pick<DescriptorLimits, 'maxBytes' | 'maxNodes' | 'maxKeysPerMapping'> {
  return { maxBytes: limits.maxBytes, maxNodes: limits.maxNodes, maxKeysPerMapping: limits.maxKeysPerMapping }
}

/** Whether the request's texts together are larger than `bytes` (UTF-8), counting only when it matters. */
function exceeds (request: DescriptorRequest, bytes: number): boolean {
  const texts = [request.descriptor, request.latestEnrichedDescriptor].filter((t): t is string => typeof t === 'string')
  const units = texts.reduce((n, t) => n + t.length, 0)
  if (units > bytes) return true
  // A UTF-16 unit is at most three UTF-8 bytes.
  return units * 3 > bytes && texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0) > bytes
}

function timeoutProblem (request: DescriptorRequest, ms: number): InputProblem {
  const descriptorLength = typeof request.descriptor === 'string' ? request.descriptor.length : 0
  const field = (request.latestEnrichedDescriptor?.length ?? 0) > descriptorLength ? 'latestEnrichedDescriptor' : 'descriptor'
  return {
    path: field,
    message: `could not be parsed and validated within the ${ms} ms allowed (${LIMIT_VARIABLES.parseTimeoutMs})`,
    hint: 'send a smaller or simpler descriptor (JSON is parsed much faster than YAML); the operator can raise the limit'
  }
}
