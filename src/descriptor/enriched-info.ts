/**
 * The platform may send `latestEnrichedDescriptor`: the data product as deployed, each component carrying the
 * `info` its adapter returned last time. Copying that `info` onto the components we act on lets handlers find
 * their resources by recorded id rather than by name. The field is optional and advisory: a malformed one is
 * ignored, never an error.
 */
import { parseYamlSafely } from './yaml-parse.js'
import type { Component, ValidatedDescriptor } from './types.js'

export function attachEnrichedInfo (validated: ValidatedDescriptor, enriched: string, maxBytes = 4 * 1024 * 1024): boolean {
  let doc: unknown
  try {
    doc = parseYamlSafely(enriched, { maxBytes, field: 'latestEnrichedDescriptor' })
  } catch {
    return false
  }
  const product = (doc as { dataProduct?: unknown } | null)?.dataProduct ?? doc
  const components = (product as { components?: unknown } | null)?.components
  if (!Array.isArray(components)) return false
  let attached = false
  for (const target of validated.targets) {
    if (target.component.info !== undefined) continue
    const previous = components.find((c): c is Component => typeof c === 'object' && c !== null && (c as Component).id === target.component.id)
    const info = previous?.info
    if (info !== undefined && info !== null && typeof info === 'object') {
      target.component.info = info
      attached = true
    }
  }
  return attached
}
