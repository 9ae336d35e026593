import t from 'tap'
import { EventEmitter } from 'node:events'
import { RedisLogThrottle, isUnreachableError } from '../../src/queue/redis-log-throttle.js'
import { eventually } from '../helpers/service-process.js'

interface Line { level: 'warn' | 'info', msg: string, obj: object }

function recorder (): { lines: Line[], logger: { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void } } {
  const lines: Line[] = []
  return { lines, logger: { warn: (obj, msg) => { lines.push({ level: 'warn', msg, obj }) }, info: (obj, msg) => { lines.push({ level: 'info', msg, obj }) } } }
}

const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })

/** An emitter shaped like an ioredis connection (it has a status, so its `ready` ends an outage). */
const connection = (): EventEmitter & { status: string } => Object.assign(new EventEmitter(), { status: 'reconnecting' })

t.test('an outage on several connections is one warning, then summaries, then one line when Redis is back', async (t) => {
  const { lines, logger } = recorder()
  const throttle = new RedisLogThrottle(logger, { summaryMs: 40 })
  t.teardown(() => { throttle.close() })
  const a = connection()
  const b = connection()
  const worker = new EventEmitter()
  throttle.watch(a, 'a')
  throttle.watch(b, 'b')
  throttle.watch(worker, 'worker')
  for (let i = 0; i < 50; i++) for (const source of [a, b, worker]) source.emit('error', refused())
  t.same(lines.map((l) => l.msg), ['Redis unreachable, retrying'], '150 errors, one line')
  await eventually('a summary', () => lines.length > 1, 2000)
  t.match(lines[1], { level: 'warn', msg: /^Redis still unreachable after [\d.]+ s: 149 more connection errors$/ })
  a.emit('ready')
  t.match(lines.at(-1), { level: 'info', msg: /^Redis reachable again after [\d.]+ s$/, obj: { errors: 150 } })
  b.emit('ready')
  t.equal(lines.filter((l) => l.level === 'info').length, 1, 'the end of the outage is said once')
})

t.test('other errors: the first of each kind is logged, repeats only counted', async (t) => {
  const { lines, logger } = recorder()
  const throttle = new RedisLogThrottle(logger, { summaryMs: 60_000 })
  const queue = new EventEmitter()
  throttle.watch(queue, 'queue')
  for (let i = 0; i < 30; i++) queue.emit('error', new Error('NOSCRIPT No matching script'))
  queue.emit('error', new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))
  t.same(lines.map((l) => l.msg), ['redis error', 'redis error'])
  throttle.close()
  t.match(lines.at(-1)?.msg, /^redis error repeated 29 times: queue: NOSCRIPT/)
})

t.test('connection failures are told apart from failed commands', async (t) => {
  t.ok(isUnreachableError(refused()))
  t.ok(isUnreachableError(new Error('Connection is closed.')))
  t.ok(isUnreachableError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })))
  t.notOk(isUnreachableError(new Error('ERR unknown command')))
})

t.test('a Sentinel or Cluster without a reachable primary counts as Redis unreachable', async (t) => {
  t.ok(isUnreachableError(new Error('All sentinels are unreachable. Retrying from scratch after 400ms.')), 'every retry delay is one outage, not a new error kind')
  t.ok(isUnreachableError(new Error('CLUSTERDOWN The cluster is down')))
  t.ok(isUnreachableError(new Error('Failed to refresh slots cache.')))
  t.notOk(isUnreachableError(new Error('CROSSSLOT Keys in request don\'t hash to the same slot')), 'a command refused by the Cluster is not an outage')
})
