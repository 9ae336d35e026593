/**
 * A composed YAML document to plain data (objects, arrays, strings, numbers, booleans, null) in one walk, with the
 * work bounded as it goes. It replaces yaml's own `toJS` and `uniqueKeys` check, which are quadratic: `uniqueKeys`
 * compares every key with every earlier one (a 470 KB mapping of 40,000 keys took 12-21 s), and every alias
 * searches the document from its start for its anchor. Here each mapping keeps a Set of its keys, anchors are
 * looked up in a Map kept while walking in document order, and each alias costs the nodes it repeats against
 * the node budget, so an alias bomb is refused after about `maxNodes` steps instead of expanding.
 *
 * Same data as yaml's `toJS` with `mapAsMap: false`: an alias shares the anchored value, keys are `String(value)`
 * (null is `''`), `__proto__` is an own data property. Stricter in two ways: keys that collide once stringified
 * (`1` and `"1"`) are duplicates, and a mapping or list used as a key is refused (JSON cannot hold it).
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml'

export interface PlainDataLimits {
  /** Nodes in the document, aliases counted as what they repeat. Default unbounded. */
  maxNodes?: number
  /** Keys in one mapping. Default unbounded. */
  maxKeysPerMapping?: number
  /** Deepest nesting of mappings and lists, aliases included. Default unbounded. */
  maxDepth?: number
}

export type PlainDataProblem =
  | { kind: 'duplicate-key', key: string, offset: number }
  | { kind: 'too-many-keys', keys: number, offset: number }
  | { kind: 'too-many-nodes', viaAlias: boolean, offset: number }
  | { kind: 'too-deep', offset: number }
  | { kind: 'unknown-anchor', anchor: string, offset: number }
  | { kind: 'recursive-alias', anchor: string, offset: number }
  | { kind: 'collection-key', offset: number }

/** Thrown by toPlainData: the first problem found, with the character offset it is at. */
export class PlainDataError extends Error {
  constructor (readonly problem: PlainDataProblem) {
    super(problem.kind)
    this.name = 'PlainDataError'
  }
}

interface Converted {
  value: unknown
  /** Nodes this value stands for (an alias to it costs as much). */
  nodes: number
  /** Levels of mappings and lists inside it, itself included (0 for a scalar). */
  height: number
}

export function toPlainData (doc: Document.Parsed, limits: PlainDataLimits = {}): unknown {
  const maxNodes = limits.maxNodes ?? Infinity
  const maxKeys = limits.maxKeysPerMapping ?? Infinity
  const maxDepth = limits.maxDepth ?? Infinity
  // The latest node carrying each anchor name so far (YAML lets a later anchor reuse a name), and what each
  // anchored node became once converted.
  const anchors = new Map<string, Node>()
  const done = new Map<Node, Converted>()
  let total = 0

  const count = (n: number, node: Node, viaAlias: boolean): void => {
    total += n
    if (total > maxNodes) throw new PlainDataError({ kind: 'too-many-nodes', viaAlias, offset: offsetOf(node) })
  }

  // Recursion is bounded: the parser refused nesting deeper than maxDepth before the document was composed.
  const convert = (node: unknown, depth: number): Converted => {
    if (node === null || node === undefined) {
      total += 1
      return { value: null, nodes: 1, height: 0 }
    }
    if (isAlias(node)) {
      const target = anchors.get(node.source)
      if (target === undefined) throw new PlainDataError({ kind: 'unknown-anchor', anchor: node.source, offset: offsetOf(node) })
      const resolved = done.get(target)
      if (resolved === undefined) throw new PlainDataError({ kind: 'recursive-alias', anchor: node.source, offset: offsetOf(node) })
      count(resolved.nodes, node, true)
      if (depth - 1 + resolved.height > maxDepth) throw new PlainDataError({ kind: 'too-deep', offset: offsetOf(node) })
      return resolved
    }
    const anchored = node as Node
    if (typeof anchored.anchor === 'string') anchors.set(anchored.anchor, anchored)
    const before = total
    count(1, anchored, false)
    let result: Converted
    if (isScalar(node)) {
      result = { value: node.value ?? null, nodes: 1, height: 0 }
    } else if (isMap(node)) {
      if (depth > maxDepth) throw new PlainDataError({ kind: 'too-deep', offset: offsetOf(node) })
      if (node.items.length > maxKeys) throw new PlainDataError({ kind: 'too-many-keys', keys: node.items.length, offset: offsetOf(node) })
      const map: Record<string, unknown> = {}
      const seen = new Set<string>()
      let height = 0
      for (const pair of node.items) {
        const key = keyOf(convert(pair.key, depth + 1), pair.key)
        if (seen.has(key)) throw new PlainDataError({ kind: 'duplicate-key', key, offset: offsetOf(pair.key) })
        seen.add(key)
        const value = convert(pair.value, depth + 1)
        height = Math.max(height, value.height)
        // `map.__proto__ = v` would set the prototype; a defined property is plain data, as yaml makes it.
        if (key === '__proto__') Object.defineProperty(map, key, { value: value.value, writable: true, enumerable: true, configurable: true })
        else map[key] = value.value
      }
      result = { value: map, nodes: total - before, height: height + 1 }
    } else if (isSeq(node)) {
      if (depth > maxDepth) throw new PlainDataError({ kind: 'too-deep', offset: offsetOf(node) })
      const list: unknown[] = new Array(node.items.length)
      let height = 0
      for (let i = 0; i < node.items.length; i++) {
        const item = convert(node.items[i], depth + 1)
        height = Math.max(height, item.height)
        list[i] = item.value
      }
      result = { value: list, nodes: total - before, height: height + 1 }
    } else {
      // Pairs outside a mapping and other node types do not occur in a composed document.
      throw new TypeError('unexpected YAML node')
    }
    if (typeof anchored.anchor === 'string') done.set(anchored, result)
    return result
  }

  return convert(doc.contents, 1).value
}

function keyOf (converted: Converted, node: unknown): string {
  const { value } = converted
  if (value === null) return ''
  if (typeof value === 'object') throw new PlainDataError({ kind: 'collection-key', offset: offsetOf(node) })
  return String(value as string | number | boolean)
}

function offsetOf (node: unknown): number {
  const range = (node as { range?: [number, number, number] } | null)?.range
  return range?.[0] ?? 0
}
