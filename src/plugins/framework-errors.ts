/**
 * The replies Fastify and Node send before any route runs, in the contract's shapes: `clientErrorHandler` for
 * socket-level errors (request timeout 408, header block or URL too long 431/414, bytes that are not HTTP 400)
 * and `frameworkErrors` for the router's (malformed URL 400, path parameter too long 414). Both are Fastify
 * server options, so app.ts passes them at construction; route errors belong to error-handler.ts.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { requestValidationError, systemError } from './error-handler.js'

export interface TransportLimits {
  requestTimeoutMs: number
  headersTimeoutMs: number
  /** Node's `maxHeaderSize`: the request line and headers together, bytes. */
  maxHeaderBytes: number
}

interface ClientError extends Error {
  code?: string
  /** The chunk being parsed when the error happened (a Buffer; Node sets it on parser errors). */
  rawPacket?: unknown
}

interface Classified { status: number, message: string, hint: string }

/**
 * Node reports an over-long request line and an over-long header block with one code (HPE_HEADER_OVERFLOW):
 * when the chunk being parsed starts a request whose first line alone is past the limit, the URL is to blame.
 */
function urlTooLong (err: ClientError, maxHeaderBytes: number): boolean {
  const packet = err.rawPacket
  if (!Buffer.isBuffer(packet) || !/^[A-Z]+ /.test(packet.subarray(0, 16).toString('latin1'))) return false
  const lineEnd = packet.indexOf('\r\n')
  return lineEnd < 0 ? packet.length >= maxHeaderBytes / 2 : lineEnd >= maxHeaderBytes
}

function classify (err: ClientError, limits: TransportLimits): Classified {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      message: `the request did not arrive in time (headers within ${limits.headersTimeoutMs} ms, the whole request within ${limits.requestTimeoutMs} ms)`,
      hint: 'Send the whole request without pausing; a client behind a slow link may need a larger REQUEST_TIMEOUT_MS.'
    }
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return urlTooLong(err, limits.maxHeaderBytes)
      ? { status: 414, message: `the request URL is longer than the ${limits.maxHeaderBytes} bytes this service reads`, hint: 'Send data in the body, not in the URL.' }
      : { status: 431, message: `the request headers are larger than the ${limits.maxHeaderBytes} bytes this service reads`, hint: 'Send fewer or shorter headers.' }
  }
  return { status: 400, message: `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`, hint: 'Send a well-formed HTTP request.' }
}

/** Fastify's `clientErrorHandler`: writes the reply straight to the socket (there is no request object yet). */
export function clientErrorHandler (limits: TransportLimits): (this: FastifyInstance, err: ClientError, socket: Socket) => void {
  return function onClientError (this: FastifyInstance, err: ClientError, socket: Socket): void {
    // A reset socket is gone: nothing to answer, nothing worth a log line.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const { status, message, hint } = classify(err, limits)
    this.log.info({ code: err.code, status }, 'client error')
    // A reply already under way (its headers sent) must not get a second status line in the middle of it.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (socket.writable && (inFlight == null || !inFlight.headersSent)) {
      const body = JSON.stringify(requestValidationError([{ path: '', message, hint }]))
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    }
    socket.destroy(err)
  }
}

/** Fastify's `frameworkErrors`: the router could not route the URL at all. */
export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id).type('application/json; charset=utf-8')
  if (error.code === 'FST_ERR_BAD_URL') {
    reply.code(400).send(requestValidationError([{ path: '', message: 'the URL is malformed (invalid percent-encoding)', hint: 'Percent-encode the URL path correctly (RFC 3986).' }]))
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.code(414).send(requestValidationError([{ path: '', message: 'a path parameter of the URL is too long', hint: 'Use a token returned by this service.' }]))
  } else {
    request.log.error({ err: error }, 'router error')
    reply.code(500).send(systemError(500, request.id))
  }
}
