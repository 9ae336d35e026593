/**
 * Reads and checks environment variables for the configuration: the service's own (src/config.ts) and each
 * handler module's section (`HandlerModule.readConfig`). Problems are collected by variable name, so start-up
 * reports all of them at once; nothing here decides what a variable means.
 */
import { readFileSync } from 'node:fs'

export type Env = Record<string, string | undefined>

export class ConfigEnv {
  readonly problems: string[] = []
  constructor (readonly env: Env) {}

  string (name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value === '' ? undefined : value
  }

  bool (name: string, fallback: boolean): boolean {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    if (raw === 'true' || raw === 'false') return raw === 'true'
    this.problems.push(`${name} must be true or false, got ${JSON.stringify(raw)}`)
    return fallback
  }

  /** A number between 0 and 1 (a utilisation). */
  fraction (name: string, fallback: number): number {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^\d*\.?\d+$/.test(raw.trim()) || value > 1) {
      this.problems.push(`${name} must be a number between 0 and 1, got ${JSON.stringify(raw)}`)
      return fallback
    }
    return value
  }

  /** Comma-separated values, blanks dropped. */
  list (name: string): string[] {
    return (this.string(name) ?? '').split(',').map(s => s.trim()).filter(Boolean)
  }

  /** A secret: `NAME`, or the content of the file named by `NAME_FILE` (trailing newline dropped). */
  secret (name: string): string | undefined {
    const direct = this.string(name)
    const file = this.string(`${name}_FILE`)
    if (direct !== undefined && file !== undefined) {
      this.problems.push(`${name} and ${name}_FILE are both set; set only one`)
      return undefined
    }
    if (file === undefined) return direct
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '')
    } catch (err) {
      this.problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      return undefined
    }
  }

  int (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`)
      return fallback
    }
    return value
  }

  oneOf<T extends string> (name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`)
      return fallback
    }
    return raw as T
  }

  url (name: string): string | undefined {
    const raw = this.string(name)
    if (raw === undefined) return undefined
    try {
      const parsed = new URL(raw)
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol')
      return raw.replace(/\/+$/, '')
    } catch {
      this.problems.push(`${name} must be an http(s) URL, got ${JSON.stringify(raw)}`)
      return undefined
    }
  }
}
