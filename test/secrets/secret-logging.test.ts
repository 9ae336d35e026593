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
