/**
 * The API's request spans (@fastify/otel): one span per request named by its route template, whose parent is
 * the caller's W3C `traceparent` when one came. Only when tracing is on; it adds no hook otherwise.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel'
import type { FastifyPluginCallback } from 'fastify'
import { tracingEnabled } from './tracing.js'

let instrumentation: FastifyOtelInstrumentation | undefined

export function fastifyTracing (): FastifyPluginCallback | undefined {
  if (!tracingEnabled()) return undefined
  instrumentation ??= new FastifyOtelInstrumentation({ recordExceptions: false })
  return instrumentation.plugin() as unknown as FastifyPluginCallback
}
