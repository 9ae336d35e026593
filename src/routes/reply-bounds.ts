/**
 * How large a status reply may grow, whatever the task did: the last MAX_REPLY_LOG_ENTRIES log entries (a first
 * entry says how many earlier ones were left out), every message and `result` at most MAX_REPLY_TEXT_CHARS,
 * validation errors at most MAX_REPLY_ERRORS, and `info` at most MAX_REPLY_INFO_BYTES of JSON (strings in it cut
 * like messages; beyond that it is replaced by a note). README "Limits" documents the same figures.
 */
import type { ComponentInfo } from '../provisioner/handler.js'
import type { TaskLogEntry } from '../queue/task-types.js'

export const MAX_REPLY_LOG_ENTRIES = 200
export const MAX_REPLY_TEXT_CHARS = 2000
export const MAX_REPLY_ERRORS = 200
export const MAX_REPLY_INFO_BYTES = 256 * 1024

export function boundedText (text: string): string {
  return text.length <= MAX_REPLY_TEXT_CHARS ? text : `${text.slice(0, MAX_REPLY_TEXT_CHARS - 40)}... (${text.length - MAX_REPLY_TEXT_CHARS + 40} more characters)`
}

export function boundedLogs (logs: readonly TaskLogEntry[]): TaskLogEntry[] {
  const kept = logs.length <= MAX_REPLY_LOG_ENTRIES ? logs : logs.slice(logs.length - (MAX_REPLY_LOG_ENTRIES - 1))
  const out = kept.map((e) => e.message.length <= MAX_REPLY_TEXT_CHARS ? e : { ...e, message: boundedText(e.message) })
  if (kept.length < logs.length) {
    const first = logs[0] as TaskLogEntry
    out.unshift({ timestamp: first.timestamp, level: 'INFO', message: `${logs.length - kept.length} earlier log entries are not shown (a reply holds the last ${MAX_REPLY_LOG_ENTRIES})` })
  }
  return out
}

export function boundedErrors (errors: readonly string[]): string[] {
  const kept = errors.slice(0, MAX_REPLY_ERRORS).map(boundedText)
  if (errors.length > MAX_REPLY_ERRORS) kept[MAX_REPLY_ERRORS - 1] = `... and ${errors.length - MAX_REPLY_ERRORS + 1} more problems`
  return kept
}

export function boundedInfo (info: ComponentInfo): ComponentInfo {
  const cut = cutStrings(info) as ComponentInfo
  const size = JSON.stringify(cut).length
  if (size <= MAX_REPLY_INFO_BYTES) return cut
  return {
    publicInfo: {
      infoNotShown: { type: 'string', label: 'Info', value: `this task's info (${size} characters of JSON) is larger than the ${MAX_REPLY_INFO_BYTES} a reply holds` }
    },
    privateInfo: {}
  }
}

function cutStrings (value: unknown): unknown {
  if (typeof value === 'string') return boundedText(value)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(cutStrings)
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    if (key === '__proto__') Object.defineProperty(out, key, { value: cutStrings(v), enumerable: true, writable: true, configurable: true })
    else out[key] = cutStrings(v)
  }
  return out
}
