/**
 * The platform may send `latestEnrichedDescriptor`: the data product as deployed, each component carrying the
 * `info` its adapter returned last time. Copying that `info` onto the components we act on lets handlers find
 * their resources by recorded id rather than by name. The field is optional and advisory: a malformed one is
 * ignored, never an error; but it is held to the same limits as `descriptor` (a DescriptorLimitError naming the
 * field), so it cannot cost more than a descriptor may.
 */
import { DescriptorLimitError, type ParseLimits } from './descriptor-limits.js'
import { parseYamlSafely } from './yaml-parse.js'
import type { Component, ValidatedDescriptor } from './types.js'

export function attachEnrichedInfo (validated: ValidatedDescriptor, enriched: string, limits: ParseLimits): boolean {
  let doc: unknown
  try {
    doc = parseYamlSafely(enriched, { ...limits, field: 'latestEnrichedDescriptor' })
  } catch (err) {
    if (err instanceof DescriptorLimitError) throw err
    return false
  }
  const product = (doc as { dataProduct?: unknown } | null)?.dataProduct ?? doc
  const components = (product as { components?: unknown } | null)?.components
  if (!Array.isArray(components)) return false
  // By id, built once: a find per target would be quadratic in a large data product.
  const byId = new Map<unknown, Component>()
  for (const c of components) {
    if (typeof c === 'object' && c !== null && !byId.has((c as Component).id)) byId.set((c as Component).id, c as Component)
  }
  let attached = false
  for (const target of validated.targets) {
    if (target.component.info !== undefined) continue
    const info = byId.get(target.component.id)?.info
    if (info !== undefined && info !== null && typeof info === 'object') {
      target.component.info = info
      attached = true
    }
  }
  return attached
}
