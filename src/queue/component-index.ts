/**
 * Finds a task's components by id in constant time. The engine looks components up once per step of every
 * target, so a linear `find` made a task's cost grow with targets x components; one index per data product
 * (held as long as the job data is) keeps it linear.
 */
import type { Component, DataProduct } from '../descriptor/types.js'

interface Entry { component: Component, index: number }

const indexes = new WeakMap<DataProduct, Map<string, Entry>>()

/** The first component with this id (as the descriptor validator resolves ids) and its position. */
export function componentById (dataProduct: DataProduct, id: string): Entry | undefined {
  let index = indexes.get(dataProduct)
  if (index === undefined) {
    index = new Map()
    for (const [i, component] of dataProduct.components.entries()) {
      if (typeof component.id === 'string' && !index.has(component.id)) index.set(component.id, { component, index: i })
    }
    indexes.set(dataProduct, index)
  }
  return index.get(id)
}
