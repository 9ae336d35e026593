/**
 * The signal of one upstream attempt: aborted when the attempt's time is up (a `TimeoutError`, as
 * `AbortSignal.timeout` gives) or when the caller's signal aborts (its reason). Not `AbortSignal.any`: that
 * leaves a WeakRef in the caller's signal for every signal made from it, and the caller's is the engine's
 * shutdown signal, alive as long as the process (measured: one WeakRef kept per upstream call, 23,000 after
 * 4,000 provisions). Here the link is a listener, removed when the attempt ends.
 */
export interface AttemptSignal {
  signal: AbortSignal
  /** The attempt ended: stop its timer and let go of the caller's signal. */
  done: () => void
}

export function attemptSignal (timeoutMs: number, parent?: AbortSignal): AttemptSignal {
  const controller = new AbortController()
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`The attempt timed out after ${timeoutMs} ms`, 'TimeoutError'))
  }, timeoutMs)
  const onAbort = (): void => { controller.abort(parent?.reason) }
  if (parent?.aborted === true) onAbort()
  else parent?.addEventListener('abort', onAbort, { once: true })
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer)
      parent?.removeEventListener('abort', onAbort)
    }
  }
}
