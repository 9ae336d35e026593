/**
 * Airbyte's side of the shared `echoNext` fault (../simulator-kit/echo-shapes.ts): the values quoted are every string
 * of the request body and query, and of the stored configuration of the source or destination the request
 * names (unmasked, as a connector's own error would), sent in Airbyte's problem body.
 */
import type { ServerResponse } from 'node:http'
import { collectStrings, echoMessage } from '../simulator-kit/echo-shapes.js'
import type { EchoFault } from '../simulator-kit/fault-injection.js'
import type { SimulatorStore } from './airbyte-state.js'

export { ECHO_SHAPES, type EchoShape } from '../simulator-kit/echo-shapes.js'
export type { EchoFault } from '../simulator-kit/fault-injection.js'

/** Every string the request carries or names, longest first. */
export function echoedValues (body: unknown, query: URLSearchParams, store: SimulatorStore, path: string, authorization?: string): string[] {
  const out = new Set<string>()
  if (authorization !== undefined && authorization !== '') out.add(authorization)
  collectStrings(out, body, ...[...query].map(([, value]) => value))
  const ids = [...path.matchAll(/\/(?:sources|destinations)\/([^/]+)/g)].map((m) => decodeURIComponent(m[1] ?? ''))
  const sourceId = query.get('sourceId')
  if (sourceId !== null) ids.push(sourceId)
  for (const id of ids) collectStrings(out, (store.sources.get(id) ?? store.destinations.get(id))?.configuration)
  return [...out].sort((a, b) => b.length - a.length)
}

export function sendEcho (res: ServerResponse, fault: EchoFault, values: readonly string[]): void {
  const message = echoMessage(values, fault.shapes)
  if (fault.format === 'text') {
    res.writeHead(fault.status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(message) }).end(message)
    return
  }
  const body = JSON.stringify({
    status: fault.status,
    type: 'https://reference.airbyte.com/reference/errors#unprocessable-entity',
    title: 'unprocessable-entity',
    detail: message,
    data: { message, echo: values }
  })
  res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}
