import t from 'tap'
import { boundedErrors, boundedInfo, boundedLogs, MAX_REPLY_INFO_BYTES, MAX_REPLY_LOG_ENTRIES, MAX_REPLY_TEXT_CHARS } from '../../src/routes/reply-bounds.js'
import { provisioningStatus } from '../../src/routes/task-replies.js'
import type { TaskLogEntry } from '../../src/queue/task-types.js'

const entry = (i: number, message = `step ${i}`): TaskLogEntry => ({ timestamp: new Date(i * 1000).toISOString(), level: 'INFO', message })

t.test('a reply holds the last 200 log entries, after one saying how many were left out', async t => {
  const logs = Array.from({ length: 1000 }, (_, i) => entry(i))
  const bounded = boundedLogs(logs)
  t.equal(bounded.length, MAX_REPLY_LOG_ENTRIES)
  t.match(bounded[0]?.message, /^801 earlier log entries are not shown/)
  t.equal(bounded[1]?.message, 'step 801')
  t.equal(bounded.at(-1)?.message, 'step 999', 'the newest entry is kept')
  t.same(boundedLogs(logs.slice(0, 200)), logs.slice(0, 200), 'up to the bound nothing changes')
})

t.test('every message and the result are cut to 2000 characters, saying by how much', async t => {
  const reply = provisioningStatus({ kind: 'provision', status: 'FAILED', result: 'r'.repeat(50_000), logs: [entry(1, 'm'.repeat(10_000))] })
  t.ok((reply.result as string).length <= MAX_REPLY_TEXT_CHARS)
  t.match(reply.result, /more characters\)$/)
  const [log] = reply.logs as TaskLogEntry[]
  t.ok((log?.message.length ?? Infinity) <= MAX_REPLY_TEXT_CHARS)
})

t.test('info is bounded: long strings cut, an oversized one replaced by a note', async t => {
  const small = boundedInfo({ publicInfo: { a: { type: 'string', label: 'A', value: 'v'.repeat(5000) } }, privateInfo: { id: 'x' } })
  t.ok(JSON.stringify(small).length < 2500)
  t.equal(small.privateInfo.id, 'x')
  const huge = boundedInfo({ publicInfo: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`c${i}`, 'v'.repeat(100)])), privateInfo: {} })
  t.ok(JSON.stringify(huge).length < MAX_REPLY_INFO_BYTES)
  t.match(JSON.stringify(huge.publicInfo), /larger than the 262144 a reply holds/)
})

t.test('validation errors are capped, the last saying how many more', async t => {
  const errors = boundedErrors(Array.from({ length: 1000 }, (_, i) => `problem ${i}`))
  t.equal(errors.length, 200)
  t.equal(errors.at(-1), '... and 801 more problems')
})
