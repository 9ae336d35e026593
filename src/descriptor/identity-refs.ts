/**
 * Identity refs as the platform writes them: `user:<email with its last @ replaced by _>` and `group:<name>`.
 * Requests come in two shapes (legacy `acl {users, groups}`, current `refs`) and sometimes without the prefix
 * (the scaffolds' samples send `refs: ["sergio.mejia_agilelab.it"]`): a bare name is taken as a user.
 */
import { DescriptorInvalidError, type InputProblem } from '../errors.js'

export function normaliseRefs (body: { refs?: unknown, acl?: { users?: unknown, groups?: unknown } }): string[] {
  const problems: InputProblem[] = []
  const out = new Set<string>()
  const take = (list: unknown, path: string, defaultPrefix: 'user' | 'group'): void => {
    if (list === undefined || list === null) return
    if (!Array.isArray(list)) {
      problems.push({ path, message: 'must be an array of strings', hint: 'e.g. ["user:jane.doe_company.com", "group:analysts"]' })
      return
    }
    list.forEach((item, i) => {
      if (typeof item !== 'string' || item.trim() === '') {
        problems.push({ path: `${path}.${i}`, message: 'must be a non-empty string' })
        return
      }
      out.add(toRef(item.trim(), defaultPrefix))
    })
  }
  take(body.refs, 'refs', 'user')
  if (body.acl !== undefined && body.acl !== null) {
    take(body.acl.users, 'acl.users', 'user')
    take(body.acl.groups, 'acl.groups', 'group')
  }
  if (problems.length > 0) throw new DescriptorInvalidError(problems)
  return [...out].sort()
}

export function toRef (identity: string, defaultPrefix: 'user' | 'group'): string {
  if (identity.startsWith('user:') || identity.startsWith('group:')) return identity
  // A raw e-mail: the platform's ref replaces its last '@' with '_'.
  const at = identity.lastIndexOf('@')
  const name = at >= 0 ? `${identity.slice(0, at)}_${identity.slice(at + 1)}` : identity
  return `${defaultPrefix}:${name}`
}
