/**
 * The deployment's secret store: `${secret:NAME}` references in descriptors resolve here, in the worker, at the
 * moment of the outbound call. Sources, in order: a file `NAME` in SECRETS_DIR (as Kubernetes mounts a Secret),
 * then the environment variable `SECRET_<NAME>` (upper-cased, non-alphanumerics as `_`).
 * Values are never cached beyond one call, so a rotated Kubernetes secret is picked up without a restart.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/
/** A whole string that is one reference; partial interpolation is not supported (it would leak into names). */
export const SECRET_REF = /^\$\{secret:([^}]*)\}$/

export interface SecretStore {
  has: (name: string) => boolean
  get: (name: string) => string | undefined
}

export function envSecretName (name: string): string {
  return `SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`
}

export function createSecretStore (opts: { dir?: string, env?: Record<string, string | undefined> }): SecretStore {
  const env = opts.env ?? {}
  const fromFile = (name: string): string | undefined => {
    if (opts.dir === undefined || !SECRET_NAME.test(name)) return undefined
    const path = join(opts.dir, name)
    if (!existsSync(path)) return undefined
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '')
  }
  const get = (name: string): string | undefined => fromFile(name) ?? env[envSecretName(name)]
  return { has: (name) => SECRET_NAME.test(name) && get(name) !== undefined, get }
}

/** Every `${secret:NAME}` reference inside `value`, with its dot path. */
export function collectSecretRefs (value: unknown, path = ''): Array<{ path: string, name: string }> {
  if (typeof value === 'string') {
    const match = SECRET_REF.exec(value)
    return match === null ? [] : [{ path, name: match[1] ?? '' }]
  }
  if (value === null || typeof value !== 'object') return []
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
  return entries.flatMap(([key, child]) => collectSecretRefs(child, path === '' ? key : `${path}.${key}`))
}

/**
 * A deep copy of `value` with every reference replaced by its secret; `seen` collects the values so the
 * caller can redact them from anything it writes. Throws on an unknown name (checked at validation, but a
 * secret may have been removed since).
 */
export function resolveSecretRefs<T> (value: T, store: SecretStore, seen: Set<string>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const match = SECRET_REF.exec(v)
      if (match === null) return v
      const name = match[1] ?? ''
      const secret = store.get(name)
      if (secret === undefined) throw new Error(`secret ${JSON.stringify(name)} is not defined in this deployment`)
      if (secret !== '') seen.add(secret)
      return secret
    }
    if (v === null || typeof v !== 'object') return v
    if (Array.isArray(v)) return v.map(walk)
    const out: Record<string, unknown> = {}
    for (const [k, child] of Object.entries(v)) out[k] = walk(child)
    return out
  }
  return walk(value) as T
}
