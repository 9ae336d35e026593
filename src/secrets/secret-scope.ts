/**
 * Who may read which descriptor secret. A reference `${secret:NAME}` in a data product's descriptor resolves only
 * inside that data product's scope, most specific first:
 *
 *   1. `<domain>/<dataProduct>/<NAME>`  granted to one data product
 *   2. `<domain>/<NAME>`                granted to every data product of the domain
 *
 * where `<domain>` and `<dataProduct>` are the two middle parts of the data product id
 * `urn:dmb:dp:<domain>:<dataProduct>:<major>` (an id that is not such a URN gets its domain from the `domain` field
 * and only domain-wide grants). The same layout holds for files under DESCRIPTOR_SECRETS_DIR and for environment
 * variables `DESCRIPTOR_SECRET_<DOMAIN>__<DATAPRODUCT>__<NAME>` / `DESCRIPTOR_SECRET_<DOMAIN>__<NAME>` (upper case,
 * each `.` or `-` as `_`, parts separated by `__`).
 * Names and scope parts are single path segments of letters and digits joined by single `.`, `_` or `-`: no `/`,
 * no `..`, no `%`, no leading dot, so no reference can leave its scope or the store.
 */

/** A whole string that is one reference; partial interpolation is not supported (it would leak into names). */
export const SECRET_REF = /^\$\{secret:([^}]*)\}$/
const SEGMENT = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/
const MAX_SEGMENT = 253
const DP_URN = /^urn:dmb:dp:([^:]+):([^:]+):([^:]+)$/
const CMP_URN = /^urn:dmb:cmp:([^:]+):([^:]+):([^:]+):.+$/
export const ENV_PREFIX = 'DESCRIPTOR_SECRET_'

export interface SecretScope {
  domain: string
  /** The data product's name part of its URN; absent when the id is not a `urn:dmb:dp:` URN. */
  dataProduct?: string
  /** The data product id as the descriptor gives it, for messages. */
  dataProductId?: string
}

/** A secret name, a domain or a data product name usable as one segment of the store. */
export function isSegment (value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SEGMENT && SEGMENT.test(value)
}

/** `domain: finance`, `urn:dmb:dmn:finance` or `domain:finance`, as descriptors write it. */
function plainDomain (value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  return value.replace(/^urn:dmb:dmn:/, '').replace(/^domain:/, '')
}

/** The scope of a data product (its `id` and `domain`), or why its secrets cannot be scoped. */
export function secretScopeOf (dataProduct: unknown): { scope: SecretScope } | { problem: string } {
  const dp = (dataProduct !== null && typeof dataProduct === 'object' ? dataProduct : {}) as Record<string, unknown>
  const id = typeof dp.id === 'string' ? dp.id : undefined
  const domainField = plainDomain(dp.domain)
  const urn = id === undefined ? null : DP_URN.exec(id)
  if (urn !== null) {
    const [, domain, name] = urn as unknown as [string, string, string]
    if (!isSegment(domain) || !isSegment(name)) {
      return { problem: `the data product id ${id ?? ''} has a domain or name that cannot name a secret scope (letters, digits and single . _ - only)` }
    }
    if (domainField !== undefined && domainField !== domain) {
      return { problem: `the data product id ${id ?? ''} names domain ${domain}, but its domain field says ${domainField}: secrets are granted by domain, so the two must agree` }
    }
    return { scope: { domain, dataProduct: name, dataProductId: id } }
  }
  if (!isSegment(domainField)) {
    return { problem: `the data product's domain ${JSON.stringify(dp.domain ?? null)} cannot name a secret scope (letters, digits and single . _ - only)` }
  }
  return { scope: { domain: domainField, dataProductId: id } }
}

/**
 * The scope a reverse-provisioning request belongs to, from what it may carry: `params.dataProductId` /
 * `params.domain`, or the catalog-info's `spec.system` / `spec.domain` / `spec.mesh.{dataProductId,domain,id}`.
 * Undefined when nothing says, or when two hints disagree.
 */
export function reverseScopeOf (params: Record<string, unknown>, catalogInfo: Record<string, unknown>): SecretScope | undefined {
  const spec = asRecord(catalogInfo.spec)
  const mesh = asRecord(spec.mesh)
  const found: SecretScope[] = []
  for (const hint of [params.dataProductId, mesh.dataProductId, spec.system, mesh.id, params.domain, mesh.domain, spec.domain]) {
    if (typeof hint !== 'string') continue
    const urn = DP_URN.exec(hint) ?? CMP_URN.exec(hint)
    if (urn !== null) {
      if (isSegment(urn[1]) && isSegment(urn[2])) found.push({ domain: urn[1], dataProduct: urn[2] })
      continue
    }
    const domain = plainDomain(hint)
    if (isSegment(domain)) found.push({ domain })
  }
  const first = found[0]
  if (first === undefined) return undefined
  if (found.some((s) => s.domain !== first.domain)) return undefined
  return { domain: first.domain, dataProduct: found.find((s) => s.dataProduct !== undefined)?.dataProduct }
}

function asRecord (v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {}
}

/** The places a name is looked up in, most specific first, as path segments below the store root. */
export function lookupOrder (name: string, scope: SecretScope): string[][] {
  return scope.dataProduct === undefined ? [[scope.domain, name]] : [[scope.domain, scope.dataProduct, name], [scope.domain, name]]
}

export function envKey (parts: readonly string[]): string {
  return ENV_PREFIX + parts.map((p) => p.toUpperCase().replace(/[^A-Z0-9]/g, '_')).join('__')
}

export function describeScope (scope: SecretScope): string {
  return scope.dataProductId === undefined
    ? `the data products of domain ${scope.domain}`
    : `data product ${scope.dataProductId} (domain ${scope.domain})`
}

/** Where an operator puts a secret to grant it to this scope. */
export function grantHint (name: string, scope: SecretScope): string {
  const where = [`DESCRIPTOR_SECRETS_DIR/${scope.domain}/${name} or ${envKey([scope.domain, name])} (every data product of domain ${scope.domain})`]
  if (scope.dataProduct !== undefined) {
    where.unshift(`DESCRIPTOR_SECRETS_DIR/${scope.domain}/${scope.dataProduct}/${name} or ${envKey([scope.domain, scope.dataProduct, name])} (this data product only)`)
  }
  return `ask the operators to grant it: ${where.join(', or ')}`
}

/** A valid secret name built from free text parts (reverse provisioning names placeholders after config paths). */
export function secretNameFrom (parts: readonly string[]): string {
  const name = parts.map((p) => p.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '')).filter((p) => p !== '').join('.')
  const cut = name.slice(0, MAX_SEGMENT).replace(/[._-]+$/, '')
  return cut === '' ? 'secret' : cut
}
