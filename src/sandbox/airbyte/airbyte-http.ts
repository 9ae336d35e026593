/**
 * The simulator's wire layer: reading and decoding request bodies, typed readers for body fields, and writing
 * replies. Every reply, problems included, goes out as `application/json`, as Airbyte sends it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { badRequest, type SimulatorProblem } from './airbyte-problems.js'

export function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export async function readRawBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * JSON, or form-urlencoded (what OAuth clients send to `/applications/token`). An empty body decodes to
 * undefined; handlers that need one say so with `requireBody`.
 */
export function decodeBody (raw: string, contentType: string | undefined): unknown {
  if (raw.trim() === '') return undefined
  if (contentType?.toLowerCase().includes('application/x-www-form-urlencoded') === true) {
    return Object.fromEntries(new URLSearchParams(raw))
  }
  try {
    return JSON.parse(raw) as unknown
  } catch {
    throw badRequest('The request body is not valid JSON')
  }
}

export function requireBody (body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object')
  return body
}

export function requireString (body: Record<string, unknown>, field: string): string {
  const value = body[field]
  if (typeof value !== 'string' || value === '') throw badRequest(`${field} is required and must be a string`)
  return value
}

export function optionalString (body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`)
  return value
}

export function optionalEnum<T extends string> (body: Record<string, unknown>, field: string,
  allowed: readonly T[]): T | undefined {
  const value = optionalString(body, field)
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) {
    throw badRequest(`${field} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`)
  }
  return value as T
}

export function sendJson (res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return
  if (body === undefined) {
    res.writeHead(status).end()
    return
  }
  const payload = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload)
  }).end(payload)
}

export function sendProblem (res: ServerResponse, problem: SimulatorProblem): void {
  sendJson(res, problem.status, problem.toBody())
}

/** Airbyte's load shedding answers 429 with this bare body, not a problem, and never with Retry-After. */
export function sendRateLimited (res: ServerResponse): void {
  sendJson(res, 429, { message: 'You are being rate limited.' })
}
