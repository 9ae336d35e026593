/**
 * `tsx bench/log-lines.ts`: the cost of one task log line through our logger options (credential fields blanked
 * by one walk, src/logger.ts) against pino's path-based `redact` with the same fields as wildcard paths, and
 * against no redaction at all. Lines go to a sink that drops them, so only formatting is measured.
 */
import { pino, type LoggerOptions } from 'pino'
import { loggerOptions } from '../src/logger.js'

const LINES = Number(process.env.BENCH_LINES ?? 200_000)
const KEYS = ['password', 'passwd', 'secret', 'clientSecret', 'client_secret', 'token', 'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'apiToken', 'apiKey', 'api_key', 'authorization', 'cookie', 'credentials']
const pinoRedact: LoggerOptions = { level: 'info', redact: { paths: KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), censor: '[redacted]' } }
const sink = { write: (_line: string): void => {} }
const variants: Array<[string, LoggerOptions]> = [['ours (one walk)', loggerOptions('info')], ['pino redact, 48 paths', pinoRedact], ['no redaction', { level: 'info' }]]

console.log(`${LINES} lines each, node ${process.version}`)
for (const round of [1, 2]) {
  for (const [name, options] of variants) {
    const logger = pino(options, sink)
    const started = performance.now()
    for (let i = 0; i < LINES; i++) {
      logger.info({ task: '2c01bbb1-b430-4a6a-b1df-a88dd27d7bc8', phase: 'Ingestion 0 of orders: ensure-source' }, 'source "orders-0-source" created (758a0552-2729-4645-80ec-85c4dee7f99b)')
    }
    if (round === 2) console.log(`${name.padEnd(24)} ${((performance.now() - started) * 1000 / LINES).toFixed(2)} µs per line`)
  }
}
