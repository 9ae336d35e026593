/**
 * From the platform's identity refs (`user:jane.doe_company.com`, `group:analysts`) to Atlan principals
 * (usernames, internal group names), behind one small interface so an operator can plug in a mapping of their
 * own. Two mappings ship: `lookup` asks Atlan (the user whose e-mail is the ref's, the group whose name or alias
 * is the ref's), `table` reads a YAML file (ATLAN_PRINCIPAL_MAP_FILE). A ref that maps to nothing is returned
 * by name, never guessed.
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ConfigError } from '../../errors.js'
import type { AtlanClient } from './atlan-client.js'

export interface PrincipalMapper {
  /** The Atlan username of a `user:` ref, or undefined when it maps to nothing. */
  user: (ref: string, signal?: AbortSignal) => Promise<string | undefined>
  /** The internal Atlan group name of a `group:` ref, or undefined when it maps to nothing. */
  group: (ref: string, signal?: AbortSignal) => Promise<string | undefined>
}

export interface MappedPrincipals {
  users: string[]
  groups: string[]
  /** The refs that map to nothing (or are not `user:` / `group:` refs), as given. */
  unmapped: string[]
}

/** `user:jane.doe_company.com` -> `jane.doe@company.com` (the platform replaced the e-mail's last `@` by `_`). */
export function refToEmail (ref: string): string | undefined {
  const id = ref.startsWith('user:') ? ref.slice('user:'.length) : ref
  const at = id.lastIndexOf('_')
  if (at <= 0 || at === id.length - 1) return undefined
  return `${id.slice(0, at)}@${id.slice(at + 1)}`
}

/** A group ref with or without its prefix (`devGroup` may come either way). */
export function groupRef (value: string): string {
  return value.startsWith('group:') ? value : `group:${value}`
}

export function lookupMapper (client: AtlanClient | ((signal?: AbortSignal) => AtlanClient)): PrincipalMapper {
  const get = (signal?: AbortSignal): AtlanClient => typeof client === 'function' ? client(signal) : client
  return {
    user: async (ref, signal) => {
      const email = refToEmail(ref)
      if (email === undefined) return undefined
      const users = await get(signal).usersByEmail(email, signal)
      // Two Atlan users sharing one e-mail cannot be told apart: map to none rather than guess.
      return users.length === 1 ? users[0]?.username : undefined
    },
    group: async (ref, signal) => {
      const name = ref.replace(/^group:/, '')
      const byName = await get(signal).groupsByName(name, signal)
      if (byName.length === 1) return byName[0]?.name
      if (byName.length > 1) return undefined
      const byAlias = await get(signal).groupsByAlias(name, signal)
      return byAlias.length === 1 ? byAlias[0]?.name : undefined
    }
  }
}

export interface PrincipalTable { users: Map<string, string>, groups: Map<string, string> }

/**
 * The table file: `users:` and `groups:` sections mapping refs (with or without their prefix) to Atlan
 * usernames / internal group names, and/or top-level `user:...` / `group:...` keys.
 */
export function parsePrincipalTable (text: string, source = 'ATLAN_PRINCIPAL_MAP_FILE'): PrincipalTable {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (err) {
    throw new ConfigError(`${source} is not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)}`)
  }
  const table: PrincipalTable = { users: new Map(), groups: new Map() }
  if (doc === null || doc === undefined) return table
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${source} must be a mapping of identity refs to Atlan names`)
  const put = (kind: 'user' | 'group', key: string, value: unknown, path: string): void => {
    if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${source}: ${path} must map to an Atlan ${kind === 'user' ? 'username' : 'group name'}`)
    const ref = key.startsWith(`${kind}:`) ? key : `${kind}:${key}`
    ;(kind === 'user' ? table.users : table.groups).set(ref, value.trim())
  }
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'users' || key === 'groups') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${source}: ${key} must be a mapping`)
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) put(key === 'users' ? 'user' : 'group', k, v, `${key}.${k}`)
    } else if (key.startsWith('user:')) put('user', key, value, key)
    else if (key.startsWith('group:')) put('group', key, value, key)
    else throw new ConfigError(`${source}: ${key} is neither users, groups nor an identity ref (user:... / group:...)`)
  }
  return table
}

export function loadPrincipalTable (path: string): PrincipalTable {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`ATLAN_PRINCIPAL_MAP_FILE ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  return parsePrincipalTable(text)
}

export function tableMapper (table: PrincipalTable): PrincipalMapper {
  return {
    user: async (ref) => table.users.get(ref),
    group: async (ref) => table.groups.get(groupRef(ref))
  }
}

/** Maps every ref once; sorted, deduplicated. */
export async function mapPrincipals (mapper: PrincipalMapper, refs: readonly string[], signal?: AbortSignal): Promise<MappedPrincipals> {
  const users = new Set<string>()
  const groups = new Set<string>()
  const unmapped: string[] = []
  for (const ref of [...new Set(refs)]) {
    let mapped: string | undefined
    if (ref.startsWith('user:')) {
      mapped = await mapper.user(ref, signal)
      if (mapped !== undefined) users.add(mapped)
    } else if (ref.startsWith('group:')) {
      mapped = await mapper.group(ref, signal)
      if (mapped !== undefined) groups.add(mapped)
    }
    if (mapped === undefined) unmapped.push(ref)
  }
  return { users: [...users].sort(), groups: [...groups].sort(), unmapped }
}
