import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { deleteKeys, testRedis, uniquePrefix } from '../helpers/redis-server.js'
import { eventually } from '../helpers/service-process.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

t.test('the sandbox runs without authentication on 127.0.0.1 only, whatever the environment asks, and says so', async t => {
  const redis = await testRedis()
  const prefix = uniquePrefix('sandbox')
  t.teardown(async () => { await deleteKeys(redis.url, prefix); await redis.stop() })
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/sandbox-main.ts'], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redis.url, QUEUE_PREFIX: prefix, PORT: '0', HOST: '0.0.0.0', AUTH_MODE: 'bearer', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise(resolve => child.once('exit', resolve))
  t.teardown(async () => { child.kill('SIGTERM'); await exited })
  await eventually('the sandbox is ready', () => output.includes('Sandbox ready'), 30_000)
  t.match(output, /tech adapter at http:\/\/127\.0\.0\.1:\d+/)
  t.match(output, /Authentication is off \(AUTH_MODE=none\): the sandbox listens on 127\.0\.0\.1 only/)
  const base = /tech adapter at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? ''
  const res = await fetch(`${base}/v1/provision/00000000-0000-4000-8000-00000000000f/status`)
  t.equal(res.status, 400, 'no credentials needed: the status route itself answers (unknown token)')
})
