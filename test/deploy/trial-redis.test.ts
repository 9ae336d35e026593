/**
 * The trial overlay's own Redis: its container arguments, given to the machine's redis-server (only the data
 * directory and the listen address moved), start a server with what BullMQ needs (noeviction) and AOF on.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import t from 'tap'
import { freePort, waitForPing } from '../../src/sandbox/local-redis.js'
import { readManifests, type Obj } from './manifest-rules.js'

const REDIS = fileURLToPath(new URL('../../deploy/kubernetes/overlays/trial/redis.yaml', import.meta.url))

t.test('the trial Redis arguments start a real redis-server with noeviction and AOF', async t => {
  const deployment = readManifests(REDIS).find(o => o.kind === 'Deployment') as Obj
  const container = deployment.spec.template.spec.containers[0] as Obj
  const args = [...container.args as string[]]
  t.equal(args.shift(), 'redis-server', 'the image entry point runs redis-server')
  const dirAt = args.indexOf('--dir')
  t.ok(dirAt >= 0, 'the data directory is set')
  const mounted = (container.volumeMounts as Obj[]).some(m => m.mountPath === args[dirAt + 1])
  t.ok(mounted, 'the data directory is a mounted volume (the root filesystem is read-only)')
  const dir = mkdtempSync(join(tmpdir(), 'trial-redis-'))
  args[dirAt + 1] = dir
  const port = await freePort()
  // Later options win: listen on loopback and a free port for the test.
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1'], { stdio: 'ignore' })
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  t.teardown(async () => {
    child.kill('SIGKILL')
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
  const url = `redis://127.0.0.1:${port}`
  await waitForPing(url)
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  t.teardown(() => { client.disconnect() })
  const config = async (name: string): Promise<string | undefined> => ((await client.config('GET', name)) as string[])[1]
  t.equal(await config('maxmemory-policy'), 'noeviction', 'an evicted job key would be a lost task')
  t.equal(await config('appendonly'), 'yes')
  t.ok(Number(await config('maxmemory')) > 0, 'bounded below the memory limit')
  const limitMi = Number(/^(\d+)Mi$/.exec(container.resources.limits.memory as string)?.[1])
  t.ok(Number(await config('maxmemory')) < limitMi * 1024 * 1024, 'maxmemory stays under the container memory limit')
})
