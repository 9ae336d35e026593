/**
 * Logging: pino, with every field that may hold a credential redacted wherever it appears (auth.md: redact
 * authorization, *password*, *secret*, *token*). Task logs are redacted separately, by value.
 */
import { pino, type LoggerOptions } from 'pino'

const REDACT = [
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization',
  '*.password', '*.secret', '*.clientSecret', '*.client_secret', '*.token', '*.access_token', '*.apiToken',
  '*.*.password', '*.*.secret', '*.*.token'
]

export function loggerOptions (level: string): LoggerOptions {
  return { level, redact: { paths: REDACT, censor: '[redacted]' } }
}

export function createLogger (level: string): pino.Logger {
  return pino(loggerOptions(level))
}
