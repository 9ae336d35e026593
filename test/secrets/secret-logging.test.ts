import t from 'tap'
import { createLogger } from '../../src/logger.js'
import { SecretScrubber } from '../../src/secrets/secret-scrubber.js'

function capture (scrubber?: SecretScrubber): { lines: string[], logger: ReturnType<typeof createLogger> } {
  const lines: string[] = []
  const logger = createLogger('debug', { scrubber, destination: { write: (line: string) => { lines.push(line) } } })
  return { lines, logger }
}

t.test('credential fields are redacted at the top level and one or two levels down', async (t) => {
  const { lines, logger } = capture()
  logger.info({ password: 'p1-value', token: 't1-value', clientSecret: 'c1-value', nested: { password: 'p2-value', deeper: { secret: 's3-value' } } }, 'hello')
  const line = lines.join('')
  for (const value of ['p1-value', 't1-value', 'c1-value', 'p2-value', 's3-value']) t.notOk(line.includes(value), value)
  t.match(JSON.parse(line), { password: '[redacted]', token: '[redacted]', nested: { password: '[redacted]', deeper: { secret: '[redacted]' } }, msg: 'hello' })
})

t.test('request and response headers carrying credentials are redacted', async (t) => {
  const { lines, logger } = capture()
  logger.info({
    req: { headers: { authorization: 'Bearer abc-token', cookie: 'sid=abc', 'x-api-key': 'key-123', 'proxy-authorization': 'Basic xyz', accept: 'json' } },
    res: { headers: { 'set-cookie': 'sid=def' } },
    headers: { authorization: 'Bearer other' }
  }, 'request')
  const parsed = JSON.parse(lines.join(''))
  t.same(parsed.req.headers, { authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', 'proxy-authorization': '[redacted]', accept: 'json' })
  t.equal(parsed.res.headers['set-cookie'], '[redacted]')
  t.equal(parsed.headers.authorization, '[redacted]')
})

t.test('known secret values are scrubbed from messages, bindings and error stacks in any shape', async (t) => {
  const scrubber = new SecretScrubber()
  scrubber.add('warehouse-pass-77')
  const { lines, logger } = capture(scrubber)
  const child = logger.child({ upstream: 'host=warehouse-pass-77' })
  child.error({ err: new Error(`rejected "${encodeURIComponent('warehouse-pass-77')}"`) }, `echo ${Buffer.from('u:warehouse-pass-77').toString('base64')} and WAREHOUSE-PASS-77`)
  const line = lines.join('')
  t.notMatch(line, /warehouse-pass-77/i)
  t.notOk(line.includes(Buffer.from('warehouse-pass-77').toString('base64').slice(2, 12)))
  t.doesNotThrow(() => JSON.parse(line), 'the line is still JSON')
  t.match(line, /\[redacted\]/)
})

t.test('credential fields inside arrays, errors and child bindings are blanked; the logged object is not changed', async (t) => {
  const { lines, logger } = capture()
  const fields = { items: [{ token: 'arr-token-1' }], err: Object.assign(new Error('upstream said no'), { config: { password: 'err-pass-2' } }) }
  logger.child({ client: { clientSecret: 'bound-secret-3' } }).error(fields, 'failed')
  const line = lines.join('')
  for (const value of ['arr-token-1', 'err-pass-2', 'bound-secret-3']) t.notOk(line.includes(value), value)
  const parsed = JSON.parse(line)
  t.match(parsed, { items: [{ token: '[redacted]' }], err: { message: 'upstream said no', config: { password: '[redacted]' } }, client: { clientSecret: '[redacted]' } })
  t.match(parsed.err.stack, /upstream said no/, 'the error keeps its serialized form')
  t.equal(fields.items[0]?.token, 'arr-token-1', 'the caller\'s object is left as it was')
  t.equal((fields.err as Error & { config: { password: string } }).config.password, 'err-pass-2')
})

t.test('a field three levels down is beyond the blanking depth, as with the former redact paths', async (t) => {
  const { lines, logger } = capture()
  logger.info({ a: { b: { c: { password: 'deep-value-4' } } }, b: { c: { password: 'level-3-value' } } }, 'deep')
  const parsed = JSON.parse(lines.join(''))
  t.equal(parsed.b.c.password, '[redacted]')
  t.equal(parsed.a.b.c.password, 'deep-value-4', 'the value scrubber, not the field walk, covers known secret values this deep')
})
