/**
 * Identity refs as the platform writes them: `user:<email with its last @ replaced by _>` and `group:<name>`.
 * Requests come in two shapes (legacy `acl {users, groups}`, current `refs`), normalised to one sorted set of
 * refs. Every entry is checked and every bad one reported at its path: a ref that reaches a target system's ACL
 * must say what it is (`refs` entries carry their prefix; a legacy list's bare entry takes the list's kind).
 */
import { DescriptorInvalidError, type InputProblem } from '../errors.js'

export type IdentityKind = 'user' | 'group'

/** Longest id or name after the prefix (an e-mail is at most 254). */
export const MAX_IDENTITY_LENGTH = 256
/** Most bad entries listed one by one; the rest are counted in one last problem. */
const MAX_LISTED = 50

// Whitespace and every Unicode "other" (control, format such as zero-width space, unassigned, private use):
// invisible differences between two refs that look alike.
const INVISIBLE = /[\s\p{C}]/u
const REF = /^(user|group):(.*)$/s

const EXAMPLE = 'e.g. "user:jane.doe_company.com" or "group:analysts"'

function shown (entry: string): string {
  return JSON.stringify(entry.length > 60 ? `${entry.slice(0, 60)}...` : entry)
}

function jsonType (value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/** What is wrong with `ref` (already prefixed), or undefined. `listKind` is the legacy list it came from. */
function refProblem (ref: string, entry: string, listKind: IdentityKind | undefined): Omit<InputProblem, 'path'> | undefined {
  const match = REF.exec(ref)
  if (match === null) {
    return { message: `${shown(entry)} is not an identity ref: expected user:<id> or group:<name>`, hint: `Prefix each identity with its kind, ${EXAMPLE}.` }
  }
  const kind = match[1] as IdentityKind
  const name = match[2] ?? ''
  if (listKind !== undefined && kind !== listKind) {
    return { message: `${shown(entry)} is a ${kind}, in the ${listKind}s list`, hint: `Move it to acl.${kind}s, or send refs instead.` }
  }
  if (name === '') return { message: `${shown(entry)} has an empty ${kind === 'user' ? 'id' : 'name'}`, hint: `Write the identity after the prefix, ${EXAMPLE}.` }
  if (name.length > MAX_IDENTITY_LENGTH) return { message: `${shown(entry)} is longer than ${MAX_IDENTITY_LENGTH} characters after ${kind}:`, hint: 'Send the platform\'s ref of the identity.' }
  if (INVISIBLE.test(name)) return { message: `${shown(entry)} contains whitespace or a control character`, hint: `Send the identity without spaces or invisible characters, ${EXAMPLE}.` }
  return undefined
}

/** The refs of a request, sorted and deduplicated; throws DescriptorInvalidError naming every bad entry. */
export function normaliseRefs (body: { refs?: unknown, acl?: { users?: unknown, groups?: unknown } }): string[] {
  const problems: InputProblem[] = []
  const out = new Set<string>()
  const take = (list: unknown, path: string, listKind: IdentityKind | undefined): void => {
    if (list === undefined || list === null) return
    if (!Array.isArray(list)) {
      problems.push({ path, message: `must be an array of identity refs, not ${jsonType(list)}`, hint: EXAMPLE })
      return
    }
    list.forEach((item: unknown, i) => {
      if (typeof item !== 'string') {
        problems.push({ path: `${path}.${i}`, message: `must be a string (user:<id> or group:<name>), not ${jsonType(item)}`, hint: EXAMPLE })
        return
      }
      const ref = listKind === undefined ? item : toRef(item, listKind)
      const problem = refProblem(ref, item, listKind)
      if (problem === undefined) out.add(ref)
      else problems.push({ path: `${path}.${i}`, ...problem })
    })
  }
  take(body.refs, 'refs', undefined)
  if (body.acl !== undefined && body.acl !== null) {
    take(body.acl.users, 'acl.users', 'user')
    take(body.acl.groups, 'acl.groups', 'group')
  }
  if (problems.length > MAX_LISTED) {
    const more = problems.length - MAX_LISTED
    problems.splice(MAX_LISTED, more, { path: problems[MAX_LISTED]?.path ?? '', message: `and ${more} more invalid identities` })
  }
  if (problems.length > 0) throw new DescriptorInvalidError(problems)
  return [...out].sort()
}

/** A legacy list's entry as a ref: prefixed entries as they are, a bare one as `kind`, an e-mail's last @ as _. */
export function toRef (identity: string, kind: IdentityKind): string {
  if (identity.startsWith('user:') || identity.startsWith('group:')) return identity
  const at = identity.lastIndexOf('@')
  const name = at >= 0 ? `${identity.slice(0, at)}_${identity.slice(at + 1)}` : identity
  return `${kind}:${name}`
}
