/**
 * The `echoNext` fault: an upstream that quotes back what it was sent, as connector validators, discover errors
 * and proxies do. The reply is an error whose texts carry every string of the request body and query, and of
 * the stored configuration of the source or destination the request names (unmasked, as a connector's own
 * error would), in the shapes real systems produce: quoted, JSON-escaped, URL- and form-encoded, base64 (also
 * inside a basic-auth string), hex, upper-cased, re-spaced, HTML-escaped and cut short. For tests of scrubbing.
 */
import type { ServerResponse } from 'node:http'
import { isPlainObject } from './airbyte-simulator-http.js'
import type { SimulatorStore } from './airbyte-simulator-state.js'

export type EchoShape =
  | 'quoted' | 'json-escaped' | 'url-encoded' | 'form-encoded' | 'base64' | 'basic-auth' | 'hex'
  | 'upper-case' | 're-spaced' | 'html' | 'truncated' | 'truncated-mid'

export const ECHO_SHAPES: readonly EchoShape[] = [
  'quoted', 'json-escaped', 'url-encoded', 'form-encoded', 'base64', 'basic-auth', 'hex', 'upper-case', 're-spaced',
  'html', 'truncated', 'truncated-mid'
]

export interface EchoFault {
  status: 400 | 401 | 409 | 422 | 500 | 502 | 503
  path?: RegExp
  method?: string
  /** Default every shape. */
  shapes?: readonly EchoShape[]
  /** `problem`: Airbyte's JSON problem (default); `text`: a plain-text body, as a proxy in front of it sends. */
  format?: 'problem' | 'text'
  /** Also quote the request's Authorization header (a gateway logging what it refused). Default false. */
  authorization?: boolean
}

export function takeEcho (queue: EchoFault[] | undefined, method: string, path: string): EchoFault | undefined {
  if (queue === undefined) return undefined
  const index = queue.findIndex((fault) => {
    if (fault.method !== undefined && fault.method.toUpperCase() !== method) return false
    if (fault.path === undefined) return true
    fault.path.lastIndex = 0
    return fault.path.test(path)
  })
  return index >= 0 ? queue.splice(index, 1)[0] : undefined
}

/** Every string the request carries or names, longest first. */
export function echoedValues (body: unknown, query: URLSearchParams, store: SimulatorStore, path: string, authorization?: string): string[] {
  const out = new Set<string>()
  if (authorization !== undefined && authorization !== '') out.add(authorization)
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v !== '') out.add(v)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (isPlainObject(v)) Object.values(v).forEach(walk)
  }
  walk(body)
  for (const [, value] of query) walk(value)
  const ids = [...path.matchAll(/\/(?:sources|destinations)\/([^/]+)/g)].map((m) => decodeURIComponent(m[1] ?? ''))
  const sourceId = query.get('sourceId')
  if (sourceId !== null) ids.push(sourceId)
  for (const id of ids) walk((store.sources.get(id) ?? store.destinations.get(id))?.configuration)
  return [...out].sort((a, b) => b.length - a.length)
}

function shape (kind: EchoShape, value: string): string {
  switch (kind) {
    case 'quoted': return `"${value}"`
    case 'json-escaped': return JSON.stringify(JSON.stringify({ value }))
    case 'url-encoded': return `?v=${encodeURIComponent(value)}`
    case 'form-encoded': return new URLSearchParams({ v: value }).toString()
    case 'base64': return Buffer.from(value, 'utf8').toString('base64')
    case 'basic-auth': return `Basic ${Buffer.from(`loader:${value}`, 'utf8').toString('base64')}`
    case 'hex': return Buffer.from(value, 'utf8').toString('hex')
    case 'upper-case': return value.toUpperCase()
    case 're-spaced': return [...value].join(' ')
    case 'html': return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
    case 'truncated': return `${value.slice(0, Math.max(6, Math.ceil(value.length * 0.6)))}...`
    case 'truncated-mid': return `'${value.slice(0, Math.max(6, Math.ceil(value.length * 0.7)))}'`
  }
}

export function sendEcho (res: ServerResponse, fault: EchoFault, values: readonly string[]): void {
  const shapes = fault.shapes ?? ECHO_SHAPES
  const lines = values.flatMap((v) => shapes.map((s) => `${s}: ${shape(s, v)}`))
  const message = `Invalid configuration: ${lines.join('; ')}`
  // The last line is cut mid-value, as an upstream that limits its messages does.
  const cut = values[0] === undefined ? '' : `; the value ${values[0].slice(0, Math.max(6, values[0].length - 3))}`
  if (fault.format === 'text') {
    const text = `${message}${cut}`
    res.writeHead(fault.status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) }).end(text)
    return
  }
  const body = JSON.stringify({
    status: fault.status,
    type: 'https://reference.airbyte.com/reference/errors#unprocessable-entity',
    title: 'unprocessable-entity',
    detail: `${message}${cut}`,
    data: { message: `${message}${cut}`, echo: values }
  })
  res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}
