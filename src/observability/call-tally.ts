/**
 * Counts the calls made to targets on behalf of one component's run, so the task log and the metrics say what a
 * provision cost upstream (issue 9: an operator sees listings, PATCHes and polls per provision on a real
 * deployment). The engine runs each step inside `withCallTally`; the generic outbound layer reports every
 * attempt with `tallyCall`, which reaches the tally through AsyncLocalStorage, so no client or handler passes
 * it along. A call shared by several tasks (one workspace listing) counts for the task that made it.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { upstreamCallsPerComponent } from './metrics.js'

/** Attempts per `<target> <operation>` (`airbyte POST /sources`), as kept in the component's checkpoint. */
export type CallCounts = Record<string, number>

const current = new AsyncLocalStorage<CallCounts>()

export async function withCallTally<T> (counts: CallCounts, fn: () => Promise<T>): Promise<T> {
  return await current.run(counts, fn)
}

/** One attempt of a call to `target` (its module id); a no-op outside a component's step. */
export function tallyCall (target: string, operation: string): void {
  const counts = current.getStore()
  if (counts === undefined) return
  const key = `${target} ${operation}`
  counts[key] = (counts[key] ?? 0) + 1
}

export function totalCalls (counts: CallCounts): number {
  let total = 0
  for (const n of Object.values(counts)) total += n
  return total
}

/** `6 calls: airbyte POST /sources 1, airbyte GET /jobs/{id} 2, ...` (most frequent first), or `no calls`. */
export function describeCalls (counts: CallCounts): string {
  const total = totalCalls(counts)
  if (total === 0) return 'no calls to the target'
  const parts = Object.entries(counts).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)).map(([op, n]) => `${op} ${n}`)
  return `${total} call${total === 1 ? '' : 's'} to the target: ${parts.join(', ')}`
}

/** The component's run ended (done or failed): one observation per target it called. */
export function observeCalls (operation: string, handler: string, outcome: 'completed' | 'failed', counts: CallCounts): void {
  const perTarget = new Map<string, number>()
  for (const [key, n] of Object.entries(counts)) {
    const target = key.slice(0, key.indexOf(' '))
    perTarget.set(target, (perTarget.get(target) ?? 0) + n)
  }
  if (perTarget.size === 0) perTarget.set(handler, 0)
  for (const [target, n] of perTarget) upstreamCallsPerComponent.observe({ target, operation, outcome }, n)
}
