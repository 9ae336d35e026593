/**
 * The work one request may cause while its descriptors are parsed and validated. Each limit has an environment
 * variable (config.ts reads and checks them at start-up) and is named in the refusal, so a caller who hits one
 * knows which, and an operator knows what to raise.
 */

import { DescriptorInvalidError } from '../errors.js'

export interface DescriptorLimits {
  /** `MAX_DESCRIPTOR_BYTES`: largest descriptor accepted, UTF-8 bytes, checked before parsing. Default 1 MiB. */
  maxBytes: number
  /**
   * `MAX_DESCRIPTOR_NODES`: mappings, lists and scalars (keys included) in one document, each alias counted as
   * the nodes it repeats, so an alias bomb is refused long before it expands. Default 200000.
   */
  maxNodes: number
  /** `MAX_KEYS_PER_MAPPING`: keys in any one mapping. Default 10000. */
  maxKeysPerMapping: number
  /** Deepest nesting of mappings and lists. Default 64 (not configurable: it bounds the parser's recursion). */
  maxDepth: number
  /**
   * `DESCRIPTOR_PARSE_TIMEOUT_MS`: total time parse and validation of one request's descriptors may take off the
   * event loop before it is aborted and refused. Default 10000.
   */
  parseTimeoutMs: number
  /**
   * `DESCRIPTOR_INLINE_MAX_BYTES`: descriptors up to this size are parsed on the event loop (cheaper than a
   * hand-over to a thread); larger ones in the worker-thread pool. Default 8192.
   */
  inlineMaxBytes: number
  /** `DESCRIPTOR_PARSE_THREADS`: threads of that pool. Default max(1, available cores - 1). */
  parseThreads: number
}

export const DEFAULT_MAX_DEPTH = 64
export const DEFAULT_MAX_NODES = 200_000
export const DEFAULT_MAX_KEYS_PER_MAPPING = 10_000

/** The environment variable of each limit, for messages. */
export const LIMIT_VARIABLES = {
  maxBytes: 'MAX_DESCRIPTOR_BYTES',
  maxNodes: 'MAX_DESCRIPTOR_NODES',
  maxKeysPerMapping: 'MAX_KEYS_PER_MAPPING',
  parseTimeoutMs: 'DESCRIPTOR_PARSE_TIMEOUT_MS'
} as const

/** The parse-time limits (what a parser needs), unbounded where not given. */
export type ParseLimits = Pick<DescriptorLimits, 'maxBytes'> & Partial<Pick<DescriptorLimits, 'maxNodes' | 'maxKeysPerMapping' | 'maxDepth'>>

/**
 * A descriptor refused for what it would cost (size, nodes, keys, nesting, time), not for what it says. Still a
 * 400 RequestValidationError; the class lets `latestEnrichedDescriptor`, whose content problems are ignored, be
 * refused for these.
 */
export class DescriptorLimitError extends DescriptorInvalidError {}
