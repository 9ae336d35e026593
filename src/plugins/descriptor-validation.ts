/**
 * Descriptor validation as a decorator: the handler registry (routing and each handler's `specific` schema),
 * the secret store (references must name a known secret) and the size limit, bound once.
 */
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { validateDescriptor } from '../descriptor/descriptor-validator.js'
import type { ValidatedDescriptor } from '../descriptor/types.js'
import type { HandlerRegistry } from '../provisioner/handler-registry.js'
import type { SecretStore } from '../secrets/secret-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    registry: HandlerRegistry
    /** Throws DescriptorInvalidError listing every problem. */
    validateDescriptor: (descriptorKind: unknown, descriptor: unknown) => ValidatedDescriptor
  }
}

export interface DescriptorValidationOptions {
  registry: HandlerRegistry
  secrets: SecretStore
  maxDescriptorBytes: number
}

export default fp(async function descriptorValidation (app: FastifyInstance, opts: DescriptorValidationOptions) {
  app.decorate('registry', opts.registry)
  app.decorate('validateDescriptor', (descriptorKind: unknown, descriptor: unknown) => validateDescriptor(descriptorKind, descriptor, {
    routing: opts.registry,
    secrets: opts.secrets,
    scrub: (text: string) => opts.secrets.scrubber.scrub(text),
    maxBytes: opts.maxDescriptorBytes,
    log: (message: string) => { app.log.info(message) }
  }))
}, { name: 'descriptor-validation', fastify: '5.x' })
