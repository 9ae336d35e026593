import t from 'tap'
import { getEventListeners, once } from 'node:events'
import { attemptSignal } from '../../src/outbound/attempt-signal.js'

t.test('an attempt times out with a TimeoutError, and its end lets go of the caller\'s signal', async t => {
  const parent = new AbortController()
  const attempt = attemptSignal(5, parent.signal)
  t.equal(getEventListeners(parent.signal, 'abort').length, 1)
  await once(attempt.signal, 'abort')
  t.equal((attempt.signal.reason as Error).name, 'TimeoutError')
  attempt.done()
  t.equal(getEventListeners(parent.signal, 'abort').length, 0, 'no listener left on the long-lived signal')
})

t.test('the caller aborting aborts the attempt with the caller\'s reason', async t => {
  const parent = new AbortController()
  const attempt = attemptSignal(60_000, parent.signal)
  parent.abort(new Error('shutting down'))
  t.equal(attempt.signal.aborted, true)
  t.match(attempt.signal.reason, { message: 'shutting down' })
  attempt.done()
  const late = attemptSignal(60_000, parent.signal)
  t.equal(late.signal.aborted, true, 'an attempt made after the abort starts aborted')
  late.done()
})

t.test('ten thousand attempts leave nothing attached to the caller\'s signal', async t => {
  const parent = new AbortController()
  for (let i = 0; i < 10_000; i++) attemptSignal(60_000, parent.signal).done()
  t.equal(getEventListeners(parent.signal, 'abort').length, 0)
})
