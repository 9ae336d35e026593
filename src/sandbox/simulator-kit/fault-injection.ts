/**
 * Fault injection every simulator shares: added latency, the next N matching requests failing with a status
 * (or a dropped connection), a random error rate, and the `echoNext` fault (an error reply quoting back what
 * the request carried). A simulator keeps one live `FaultSettings` object (tests change it while it runs),
 * calls `injectFault` before routing, and answers a status fault in its own target's error shape.
 */
import type { IncomingMessage } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import type { EchoShape } from './echo-shapes.js'
import type { RequestLog } from './request-log.js'

/** An HTTP status to answer with, or `drop`: destroy the socket without answering. */
export type FaultStatus = number | 'drop'

/** Which requests a queued fault applies to; unset fields match everything. */
export interface RequestMatch {
  /** Tested against the path without query string, base path included. */
  path?: RegExp
  method?: string
}

export interface EchoFault extends RequestMatch {
  status: number
  /** Default every shape. */
  shapes?: readonly EchoShape[]
  /** `problem`: the target's JSON error body (default); `text`: a plain-text body, as a proxy in front sends. */
  format?: 'problem' | 'text'
  /** Also quote the request's Authorization header (a gateway logging what it refused). Default false. */
  authorization?: boolean
}

export interface FaultSettings {
  /** Added to every request, ms. */
  latencyMs?: number
  /** Consumed one per matching request, first match first. */
  failNext?: Array<RequestMatch & { status: FaultStatus }>
  /** A random fraction of requests fail this way. */
  errorRate?: { rate: number, status: FaultStatus }
  /**
   * Consumed one per matching request, first match first, after authentication: an error reply quoting back
   * every value of the request (and what it names) in many shapes (echo-shapes.ts).
   */
  echoNext?: EchoFault[]
}

function matches (fault: RequestMatch, method: string, path: string): boolean {
  if (fault.method !== undefined && fault.method.toUpperCase() !== method) return false
  if (fault.path === undefined) return true
  fault.path.lastIndex = 0
  return fault.path.test(path)
}

/** Removes and returns the first queued entry matching the request. */
export function takeMatching<T extends RequestMatch> (queue: T[] | undefined, method: string, path: string): T | undefined {
  if (queue === undefined) return undefined
  const index = queue.findIndex((fault) => matches(fault, method, path))
  return index >= 0 ? queue.splice(index, 1)[0] : undefined
}

/** The status fault this request meets, if any (a queued one first, then the error rate). */
export function takeFault (faults: FaultSettings, method: string, path: string): FaultStatus | undefined {
  const queued = takeMatching(faults.failNext, method, path)
  if (queued !== undefined) return queued.status
  if (faults.errorRate !== undefined && Math.random() < faults.errorRate.rate) return faults.errorRate.status
  return undefined
}

/**
 * Applies latency and the status faults to one request. Returns the status the simulator must answer with
 * (in its own error shape), `dropped` when the socket was destroyed (logged with status 0), or undefined to
 * serve the request normally.
 */
export async function injectFault (faults: FaultSettings, req: IncomingMessage, method: string, path: string, log: RequestLog): Promise<number | 'dropped' | undefined> {
  if (faults.latencyMs !== undefined && faults.latencyMs > 0) await delay(faults.latencyMs)
  const fault = takeFault(faults, method, path)
  if (fault !== 'drop') return fault
  log.record(method, path, 0)
  req.socket.destroy()
  return 'dropped'
}

/** Empties a live settings object in place (the simulator keeps its reference). */
export function clearFaults (faults: object): void {
  for (const key of Object.keys(faults)) delete (faults as Record<string, unknown>)[key]
}
