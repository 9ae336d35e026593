/**
 * Orders the components this adapter acts on by their `dependsOn`, in levels (Kahn's algorithm): a level
 * depends only on earlier ones, so its components may run in parallel. It only reads ids; it does not validate
 * components beyond their references.
 *
 * Components outside `scope` belong to other adapters: they are not ordered, but an in-scope component that
 * depends on one of them also waits for whatever in-scope component that one depends on (A -> theirs -> B puts
 * B before A), so the data product's order is kept. A reference to no component at all is a dangling dependency;
 * a cycle among in-scope components, directly or through others, is a problem naming its members.
 */
import type { InputProblem } from '../errors.js'

export interface DependencyNode {
  /** Undefined for a component without a usable id: it keeps its index but nothing can depend on it. */
  id: string | undefined
  dependsOn?: readonly string[] | null
}

/** An in-scope dependency of an in-scope component, found directly or through out-of-scope components. */
interface Edge {
  to: number
  /** Index in the dependent's `dependsOn` the dependency was reached from. */
  dependsOnIndex: number
  /** Out-of-scope components crossed on the way, last one first. */
  via: Via | undefined
}

/** A linked list, so following a long chain of other adapters' components does not copy arrays. */
interface Via { id: string, prev: Via | undefined }

/**
 * @param components every component of the data product, in descriptor order (paths use these indexes)
 * @param scope ids of the components to order
 * @param pathPrefix prefix of problem paths (`dataProduct.` for a COMPONENT_DESCRIPTOR); default none
 */
export function orderByDependencies (
  components: readonly DependencyNode[],
  scope: ReadonlySet<string>,
  pathPrefix = ''
): { levels: string[][] } | { problems: InputProblem[] } {
  // The first component with an id wins; duplicate ids are reported by the validator.
  const indexOf = new Map<string, number>()
  components.forEach((c, i) => { if (c.id !== undefined && !indexOf.has(c.id)) indexOf.set(c.id, i) })
  const inScope = (i: number): boolean => {
    const id = components[i]?.id
    return id !== undefined && scope.has(id) && indexOf.get(id) === i
  }

  const problems: InputProblem[] = []
  const nodes: number[] = []
  const edges = new Map<number, Edge[]>()
  components.forEach((_, i) => {
    if (!inScope(i)) return
    nodes.push(i)
    edges.set(i, dependenciesOf(i))
  })

  function dependenciesOf (from: number): Edge[] {
    const found: Edge[] = []
    const reached = new Set<number>()
    const deps = components[from]?.dependsOn ?? []
    deps.forEach((depId, j) => {
      const dep = indexOf.get(depId)
      if (dep === undefined) {
        problems.push({
          path: `${pathPrefix}components.${from}.dependsOn.${j}`,
          message: `dangling dependency: ${depId} is not a component of this data product`,
          hint: `use the id of one of the data product's components (${shorten([...indexOf.keys()])}), or remove the entry`
        })
        return
      }
      // Walk through other adapters' components until in-scope ones are reached (iteratively: a hostile
      // descriptor may chain thousands of components).
      const seenOutside = new Set<number>()
      const pending: Array<{ at: number, via: Via | undefined }> = [{ at: dep, via: undefined }]
      for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
        const { at, via } = next
        if (inScope(at)) {
          if (!reached.has(at)) { reached.add(at); found.push({ to: at, dependsOnIndex: j, via }) }
          continue
        }
        if (seenOutside.has(at)) continue
        seenOutside.add(at)
        const outside = components[at]
        if (outside === undefined) continue
        const onward = outside.dependsOn ?? []
        for (let k = onward.length - 1; k >= 0; k--) {
          const n = indexOf.get(onward[k] ?? '')
          if (n !== undefined) pending.push({ at: n, via: { id: outside.id ?? `#${at}`, prev: via } })
        }
      }
    })
    return found
  }

  const cycles: InputProblem[] = []
  const levels = kahnLevels(nodes, edges)
  if (levels.placed < nodes.length) {
    const left = nodes.filter((i) => !levels.done.has(i))
    for (const cycle of findCycles(left, edges)) cycles.push(describeCycle(cycle, components, pathPrefix))
  }
  problems.push(...cycles)
  if (problems.length > 0) return { problems }
  return { levels: levels.ids.map((level) => level.map((i) => components[i]?.id ?? '')) }
}

function kahnLevels (nodes: readonly number[], edges: ReadonlyMap<number, readonly Edge[]>): { ids: number[][], done: Set<number>, placed: number } {
  const waiting = new Map<number, number>()
  const dependents = new Map<number, number[]>()
  for (const i of nodes) {
    const deps = edges.get(i) ?? []
    waiting.set(i, deps.length)
    for (const e of deps) {
      const list = dependents.get(e.to)
      if (list === undefined) dependents.set(e.to, [i])
      else list.push(i)
    }
  }
  const ids: number[][] = []
  const done = new Set<number>()
  let level = nodes.filter((i) => waiting.get(i) === 0)
  while (level.length > 0) {
    ids.push(level)
    for (const i of level) done.add(i)
    const next: number[] = []
    for (const i of level) {
      for (const d of dependents.get(i) ?? []) {
        const w = (waiting.get(d) ?? 0) - 1
        waiting.set(d, w)
        if (w === 0) next.push(d)
      }
    }
    // Keep descriptor order within a level so results are stable.
    level = next.sort((a, b) => a - b)
  }
  return { ids, done, placed: done.size }
}

/** One simple cycle per strongly connected component that has one (Tarjan), as edges in dependency direction. */
function findCycles (left: readonly number[], edges: ReadonlyMap<number, readonly Edge[]>): Array<Array<{ from: number, edge: Edge }>> {
  const members = new Set(left)
  const inner = new Map(left.map((v) => [v, (edges.get(v) ?? []).filter((e) => members.has(e.to))]))
  const index = new Map<number, number>()
  const low = new Map<number, number>()
  const stack: number[] = []
  const onStack = new Set<number>()
  const sccs: number[][] = []
  let counter = 0
  // Tarjan's algorithm with an explicit call stack, so a long chain cannot overflow the JS stack.
  for (const root of left) {
    if (index.has(root)) continue
    const calls: Array<{ v: number, next: number }> = [{ v: root, next: 0 }]
    index.set(root, counter); low.set(root, counter); counter++
    stack.push(root); onStack.add(root)
    while (calls.length > 0) {
      const frame = calls[calls.length - 1] as { v: number, next: number }
      const e = inner.get(frame.v)?.[frame.next]
      if (e !== undefined) {
        frame.next++
        if (!index.has(e.to)) {
          index.set(e.to, counter); low.set(e.to, counter); counter++
          stack.push(e.to); onStack.add(e.to)
          calls.push({ v: e.to, next: 0 })
        } else if (onStack.has(e.to)) {
          low.set(frame.v, Math.min(low.get(frame.v) ?? 0, index.get(e.to) ?? 0))
        }
        continue
      }
      calls.pop()
      const parent = calls[calls.length - 1]
      if (parent !== undefined) low.set(parent.v, Math.min(low.get(parent.v) ?? 0, low.get(frame.v) ?? 0))
      if (low.get(frame.v) === index.get(frame.v)) {
        const scc: number[] = []
        let w: number | undefined
        do { w = stack.pop(); if (w !== undefined) { onStack.delete(w); scc.push(w) } } while (w !== undefined && w !== frame.v)
        sccs.push(scc)
      }
    }
  }

  const cycles: Array<Array<{ from: number, edge: Edge }>> = []
  for (const scc of sccs) {
    const inScc = new Set(scc)
    const start = scc.reduce((a, b) => Math.min(a, b))
    // Breadth-first from the first member back to itself: the shortest cycle through it.
    const cameFrom = new Map<number, { from: number, edge: Edge }>()
    const queue = [start]
    let closing: { from: number, edge: Edge } | undefined
    for (let q = 0; q < queue.length && closing === undefined; q++) {
      const v = queue[q] as number
      for (const e of edges.get(v) ?? []) {
        if (!inScc.has(e.to)) continue
        if (e.to === start) { closing = { from: v, edge: e }; break }
        if (!cameFrom.has(e.to)) { cameFrom.set(e.to, { from: v, edge: e }); queue.push(e.to) }
      }
    }
    if (closing === undefined) continue // a single component without a self-dependency: not a cycle
    const path = [closing]
    for (let v = closing.from; v !== start;) {
      const step = cameFrom.get(v)
      if (step === undefined) break
      path.push(step)
      v = step.from
    }
    cycles.push(path.reverse())
  }
  return cycles
}

function describeCycle (cycle: Array<{ from: number, edge: Edge }>, components: readonly DependencyNode[], pathPrefix: string): InputProblem {
  const id = (i: number): string => components[i]?.id ?? String(i)
  const first = cycle[0] as { from: number, edge: Edge }
  const chain = [id(first.from)]
  for (const { edge } of cycle) {
    const crossed: string[] = []
    for (let v = edge.via; v !== undefined; v = v.prev) crossed.push(`${v.id} (another adapter's)`)
    chain.push(...crossed.reverse(), id(edge.to))
  }
  const members = [...new Set(cycle.map((s) => id(s.from)))]
  return {
    path: `${pathPrefix}components.${first.from}.dependsOn.${first.edge.dependsOnIndex}`,
    message: `dependency cycle among ${shorten(members)}: ${shorten(chain, ' -> ')}`,
    hint: 'each component must be deployable after the ones it depends on; remove one of these dependsOn entries'
  }
}

/** A hostile descriptor can make a cycle of thousands; a message names the first few. */
function shorten (ids: readonly string[], separator = ', '): string {
  return ids.length <= 12 ? ids.join(separator) : `${ids.slice(0, 10).join(separator)}${separator}... (${ids.length} in all)`
}
