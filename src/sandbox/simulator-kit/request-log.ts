/**
 * The request log every simulator keeps, for tests to check what the service called and in which order.
 * Holds method, path and status only: never bodies or headers.
 */
import type { ServerResponse } from 'node:http'

export interface SimulatorRequestRecord {
  method: string
  /** Path without query string, base path included. */
  path: string
  /** 0 when a `drop` fault destroyed the socket. */
  status: number
}

export class RequestLog {
  /** Oldest first; tests read it directly. */
  readonly requests: SimulatorRequestRecord[] = []

  record (method: string, path: string, status: number): void {
    this.requests.push({ method, path, status })
  }

  /** Records the request with the status it was answered with, once the answer is sent. */
  recordOnFinish (res: ServerResponse, method: string, path: string): void {
    res.once('finish', () => this.record(method, path, res.statusCode))
  }
}
