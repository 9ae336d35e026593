/**
 * The `result` and `info` a finished component task reports. One component: its handler's own. Several (a
 * DATAPRODUCT_DESCRIPTOR): publicInfo entries prefixed with the component name so the UI lists them all, and
 * privateInfo keyed by component id so the next run can find each component's resources.
 */
import type { ComponentInfo } from '../provisioner/handler.js'
import { componentById } from './component-index.js'
import type { ComponentTaskData } from './task-types.js'

export function summariseOutcome (data: ComponentTaskData): { result: string, info?: ComponentInfo } {
  const ids = data.levels.flat()
  if (ids.length === 0) return { result: 'Nothing to do: no component of this data product belongs to this adapter' }
  if (ids.length === 1) {
    const cp = data.checkpoint[ids[0] ?? '']
    return { result: cp?.result ?? 'OK', info: cp?.info }
  }
  const publicInfo: Record<string, unknown> = {}
  const privateInfo: Record<string, unknown> = {}
  for (const id of ids) {
    const cp = data.checkpoint[id]
    if (cp?.info === undefined) continue
    const name = componentById(data.dataProduct, id)?.component.name ?? id
    for (const [key, value] of Object.entries(cp.info.publicInfo)) {
      publicInfo[`${id}/${key}`] = labelled(value, name)
    }
    privateInfo[id] = cp.info.privateInfo
  }
  return { result: `OK: ${ids.length} components`, info: { publicInfo, privateInfo } }
}

function labelled (value: unknown, componentName: string): unknown {
  if (value === null || typeof value !== 'object' || !('label' in value)) return value
  return { ...value, label: `${componentName}: ${String((value as { label: unknown }).label)}` }
}
