/**
 * The descriptor secret store: where `${secret:NAME}` references in descriptors resolve, in the worker, at the
 * moment of the outbound call, within the data product's scope (secret-scope.ts has the layout and the grants).
 * Sources: files under DESCRIPTOR_SECRETS_DIR (as Kubernetes mounts a Secret; a file must resolve, symlinks
 * included, inside the directory) and `DESCRIPTOR_SECRET_<...>` environment variables. Nothing else: the service's
 * own credentials (AIRBYTE_CLIENT_SECRET, tokens, `*_FILE` files) are never a source, and a descriptor secret whose
 * value equals one of them is refused. Values shorter than MIN_SECRET_LENGTH are refused (they cannot be scrubbed).
 * Every value read is registered with the scrubber, so it is masked wherever it would be logged or stored.
 * Values are read afresh on every lookup, so a rotated Kubernetes secret is picked up without a restart.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { join, sep } from 'node:path'
import { DescriptorInvalidError, type InputProblem } from '../errors.js'
import { MIN_SECRET_LENGTH, SecretScrubber } from './secret-scrubber.js'
import {
  describeScope, ENV_PREFIX, envKey, grantHint, isSegment, lookupOrder, SECRET_REF, secretScopeOf, type SecretScope
} from './secret-scope.js'

export { SECRET_REF } from './secret-scope.js'

/** Larger files are not secrets (and are not read into memory). */
const MAX_SECRET_BYTES = 64 * 1024
/** A bound on what one listing reads, against a store mounted on the wrong directory. */
const MAX_LISTED = 10_000

export type SecretLookup =
  | { kind: 'found', value: string }
  | { kind: 'not-granted' }
  | { kind: 'invalid-name' }
  | { kind: 'too-short' }
  | { kind: 'service-credential' }

export interface ListedSecret {
  name: string
  value: string
  domain: string
  dataProduct?: string
}

export interface SecretStore {
  /** What a reference to `name` from `scope` would get; reads the value (to check it) but never throws. */
  lookup: (name: string, scope: SecretScope) => SecretLookup
  /**
   * Every usable secret of `domain` (every domain when undefined): the scope's data product's own first, then
   * the domain's, then other data products'. Registers every value with the scrubber.
   */
  list: (domain?: string, dataProduct?: string) => ListedSecret[]
  /** Masks every value this store (and the service's credentials) has handed out. */
  readonly scrubber: SecretScrubber
}

export interface SecretStoreOptions {
  /** DESCRIPTOR_SECRETS_DIR. */
  dir?: string
  /** Only `DESCRIPTOR_SECRET_*` entries are read. */
  env?: Record<string, string | undefined>
  /** The service's own credential values, read when a secret is looked up (a reloaded token file counts). */
  serviceCredentials?: () => Iterable<string>
  /** Default: a new one. */
  scrubber?: SecretScrubber
}

export function createSecretStore (opts: SecretStoreOptions): SecretStore {
  const scrubber = opts.scrubber ?? new SecretScrubber()
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(opts.env ?? {})) {
    if (key.startsWith(ENV_PREFIX) && value !== undefined && value !== '') env[key] = value
  }
  const isServiceCredential = (value: string): boolean => {
    for (const credential of opts.serviceCredentials?.() ?? []) if (credential === value) return true
    return false
  }

  const root = (): string | undefined => {
    if (opts.dir === undefined) return undefined
    try { return realpathSync(opts.dir) } catch { return undefined }
  }
  const fromFile = (parts: string[]): string | undefined => {
    const base = root()
    if (base === undefined) return undefined
    try {
      const real = realpathSync(join(base, ...parts))
      // A symlink may not lead out of the store (to a service credential, say).
      if (!real.startsWith(base + sep)) return undefined
      const stat = statSync(real)
      if (!stat.isFile() || stat.size > MAX_SECRET_BYTES) return undefined
      return readFileSync(real, 'utf8').replace(/\r?\n$/, '')
    } catch {
      return undefined
    }
  }

  const check = (value: string): SecretLookup => {
    if (value.length < MIN_SECRET_LENGTH) return { kind: 'too-short' }
    if (isServiceCredential(value)) return { kind: 'service-credential' }
    scrubber.add(value)
    return { kind: 'found', value }
  }

  const lookup = (name: string, scope: SecretScope): SecretLookup => {
    if (!isSegment(name) || !isSegment(scope.domain) || (scope.dataProduct !== undefined && !isSegment(scope.dataProduct))) {
      return { kind: 'invalid-name' }
    }
    for (const parts of lookupOrder(name, scope)) {
      const value = fromFile(parts) ?? env[envKey(parts)]
      if (value !== undefined && value !== '') return check(value)
    }
    return { kind: 'not-granted' }
  }

  const list = (domain?: string, dataProduct?: string): ListedSecret[] => {
    const found: ListedSecret[] = []
    const base = root()
    if (base !== undefined) {
      for (const d of entries(base)) {
        if (domain !== undefined && d !== domain) continue
        for (const entry of entries(join(base, d))) {
          const kind = entryKind(join(base, d, entry))
          if (kind === 'file') push(found, { name: entry, domain: d }, fromFile([d, entry]))
          if (kind === 'dir') {
            for (const name of entries(join(base, d, entry))) push(found, { name, domain: d, dataProduct: entry }, fromFile([d, entry, name]))
          }
          if (found.length >= MAX_LISTED) break
        }
      }
    }
    for (const [key, value] of Object.entries(env)) {
      const parts = key.slice(ENV_PREFIX.length).split('__')
      if (parts.length < 2 || parts.length > 3) continue
      const [d, p, n] = parts.length === 2 ? [parts[0], undefined, parts[1]] : parts
      if (d === undefined || n === undefined) continue
      if (domain !== undefined && envKey([domain]) !== ENV_PREFIX + d) continue
      // The variable name lost the original spelling; any spelling mapping to the same variable resolves to it,
      // so placeholders use the conventional lower-case, dash-separated one.
      push(found, { name: conventional(n), domain: domain ?? conventional(d), ...(p === undefined ? {} : { dataProduct: conventional(p) }) }, value)
    }
    const usable = found.filter((s) => check(s.value).kind === 'found')
    const rank = (s: ListedSecret): number => s.dataProduct === undefined ? 1 : (dataProduct !== undefined && sameSegment(s.dataProduct, dataProduct) ? 0 : 2)
    return usable.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
  }

  return { lookup, list, scrubber }
}

function conventional (envPart: string): string {
  return envPart.toLowerCase().replace(/_/g, '-')
}

function sameSegment (a: string, b: string): boolean {
  return a === b || envKey([a]) === envKey([b])
}

function push (into: ListedSecret[], where: Omit<ListedSecret, 'value'>, value: string | undefined): void {
  if (value !== undefined && value !== '' && isSegment(where.name)) into.push({ ...where, value })
}

/** Entries that can be a scope or a name: Kubernetes' `..data` links and hidden files are skipped. */
function entries (dir: string): string[] {
  try {
    return readdirSync(dir).filter((e) => isSegment(e)).sort()
  } catch {
    return []
  }
}

function entryKind (path: string): 'file' | 'dir' | undefined {
  try {
    lstatSync(path)
    const stat = statSync(path)
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : undefined
  } catch {
    return undefined
  }
}

/** The problem with a reference to `name` from `scope`, for a validation error; undefined when it resolves. */
export function secretRefProblem (lookup: SecretLookup, name: string, scope: SecretScope): Omit<InputProblem, 'path'> | undefined {
  switch (lookup.kind) {
    case 'found':
      return undefined
    case 'invalid-name':
      return {
        message: `${JSON.stringify(name)} is not a valid secret name`,
        hint: 'a secret name is letters and digits joined by single ".", "_" or "-" (no "/", "..", "%" or leading dot), at most 253 characters'
      }
    case 'not-granted':
      return { message: `secret ${JSON.stringify(name)} is not granted to ${describeScope(scope)}`, hint: grantHint(name, scope) }
    case 'too-short':
      return {
        message: `secret ${JSON.stringify(name)} is shorter than ${MIN_SECRET_LENGTH} characters, too short to be kept out of logs safely`,
        hint: `store a value of at least ${MIN_SECRET_LENGTH} characters`
      }
    case 'service-credential':
      return {
        message: `secret ${JSON.stringify(name)} has the same value as one of this service's own credentials and cannot be used`,
        hint: 'descriptor secrets and the service\'s credentials must be distinct values: store a different value'
      }
  }
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
 * A deep copy of `value` with every reference replaced by its secret, looked up in the data product's scope.
 * Throws DescriptorInvalidError naming the secret (never its value) when a reference does not resolve: it was
 * checked at validation, but a grant may have been withdrawn since.
 */
export function resolveSecretRefs<T> (value: T, store: Pick<SecretStore, 'lookup'>, dataProduct: unknown): T {
  const scoped = secretScopeOf(dataProduct)
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      const match = SECRET_REF.exec(v)
      if (match === null) return v
      const name = match[1] ?? ''
      if ('problem' in scoped) throw new DescriptorInvalidError([{ path, message: `secret ${JSON.stringify(name)} cannot be resolved: ${scoped.problem}` }])
      const found = store.lookup(name, scoped.scope)
      if (found.kind === 'found') return found.value
      const problem = secretRefProblem(found, name, scoped.scope) ?? { message: `secret ${JSON.stringify(name)} cannot be resolved` }
      throw new DescriptorInvalidError([{ path, ...problem }])
    }
    if (v === null || typeof v !== 'object') return v
    if (Array.isArray(v)) return v.map((x, i) => walk(x, path === '' ? String(i) : `${path}.${i}`))
    const out: Record<string, unknown> = {}
    for (const [k, child] of Object.entries(v)) out[k] = walk(child, path === '' ? k : `${path}.${k}`)
    return out
  }
  return walk(value, '') as T
}

/**
 * Reverse provisioning: every configuration value equal to one of `known` becomes its `${secret:NAME}`
 * placeholder (first listed wins), so what a non-secret field of the target holds in clear is not handed back.
 */
export function secretsToPlaceholders<T> (value: T, known: readonly ListedSecret[]): T {
  if (known.length === 0) return value
  const byValue = new Map<string, string>()
  for (const s of known) if (!byValue.has(s.value)) byValue.set(s.value, s.name)
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string' || typeof v === 'number') {
      const name = byValue.get(String(v)) ?? (typeof v === 'string' ? byValue.get(v.trim()) : undefined)
      return name === undefined ? v : `\${secret:${name}}`
    }
    if (v === null || typeof v !== 'object') return v
    if (Array.isArray(v)) return v.map(walk)
    const out: Record<string, unknown> = {}
    for (const [k, child] of Object.entries(v)) out[k] = walk(child)
    return out
  }
  return walk(value) as T
}
