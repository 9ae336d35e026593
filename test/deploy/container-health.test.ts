/**
 * Containers outside Kubernetes: the image's HEALTHCHECK (deploy/docker/healthcheck.mjs, run for real against a
 * local HTTP server standing in for the service) and compose's restart policies and health checks.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse as parseYaml } from 'yaml'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCRIPT = fileURLToPath(new URL('../../deploy/docker/healthcheck.mjs', import.meta.url))

/** The instructions of the Dockerfile's last stage, continuation lines joined. */
function finalStage (): Array<{ op: string, args: string }> {
  const lines = readFileSync(`${ROOT}Dockerfile`, 'utf8').replace(/\\\r?\n/g, ' ').split(/\r?\n/)
  const instructions = lines.map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
    .map(l => { const [op = '', ...rest] = l.split(/\s+/); return { op: op.toUpperCase(), args: rest.join(' ') } })
  const last = instructions.map(i => i.op).lastIndexOf('FROM')
  return instructions.slice(last)
}

t.test('the image has a HEALTHCHECK that runs a script copied into it, as a numeric non-root user', async t => {
  const stage = finalStage()
  const health = stage.filter(i => i.op === 'HEALTHCHECK')
  t.equal(health.length, 1, 'one HEALTHCHECK in the final stage')
  const args = health[0]?.args ?? ''
  t.match(args, /--interval=\d+s/)
  t.match(args, /--timeout=\d+s/)
  const cmd = /CMD\s+(\[.*\])\s*$/.exec(args)?.[1]
  t.ok(cmd, 'exec form (no shell in the way of the exit code)')
  const argv = JSON.parse(cmd ?? '[]') as string[]
  t.equal(argv[0], 'node', 'node runs it: the slim image has no curl')
  const copied = stage.filter(i => i.op === 'COPY').map(i => i.args.split(/\s+/).filter(a => !a.startsWith('--')))
  const copy = copied.find(parts => parts.at(-1)?.replace(/^\.\//, '') === argv[1])
  t.ok(copy, `${argv[1] ?? '?'} is copied into the image`)
  t.ok(copy !== undefined && existsSync(`${ROOT}${copy[0] ?? ''}`), 'from a file of the repository')
  const user = stage.filter(i => i.op === 'USER').at(-1)?.args ?? ''
  t.match(user, /^[1-9]\d*(:\d+)?$/, 'USER is a non-zero uid, so Kubernetes can check runAsNonRoot')
})

t.test('compose: every service restarts and has a health check; service_healthy waits only on those', async t => {
  const compose = parseYaml(readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as { services: Record<string, Record<string, any>> }
  const services = Object.entries(compose.services)
  t.ok(services.length >= 4)
  for (const [name, service] of services) {
    t.ok(['always', 'unless-stopped', 'on-failure'].includes(service.restart), `${name} has a restart policy (${String(service.restart)})`)
    const test = service.healthcheck?.test
    t.ok(Array.isArray(test) && ['CMD', 'CMD-SHELL'].includes(test[0]) && test.length > 1, `${name} has a health check`)
    t.not(service.healthcheck?.disable, true, `${name}'s health check is not disabled`)
    for (const [dependency, condition] of Object.entries(service.depends_on ?? {})) {
      t.ok(compose.services[dependency], `${name} depends on an existing service ${dependency}`)
      if ((condition as { condition?: string }).condition === 'service_healthy') t.ok(compose.services[dependency]?.healthcheck, `${dependency} can become healthy`)
    }
  }
  const adapters = services.filter(([, s]) => s.build !== undefined && s.entrypoint === undefined)
  t.ok(adapters.length >= 2, 'API and worker run the image entry point')
  for (const [name, service] of adapters) t.same(service.healthcheck.test, ['CMD', 'node', 'healthcheck.mjs'], `${name} uses the image's check`)
  const worker = services.find(([, s]) => s.environment?.ROLE === 'worker')
  t.ok(worker?.[1].environment?.METRICS_PORT, 'the worker names the METRICS_PORT its check probes')
})

interface FakeService { server: Server, port: number, paths: string[] }

async function fakeService (reply: (req: IncomingMessage) => number | 'hang'): Promise<FakeService> {
  const paths: string[] = []
  const server = createServer((req, res) => {
    paths.push(req.url ?? '')
    const status = reply(req)
    if (status === 'hang') return
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port, paths }
}

async function close (s: FakeService): Promise<void> {
  s.server.closeAllConnections()
  await new Promise<void>(resolve => s.server.close(() => { resolve() }))
}

async function freePort (): Promise<number> {
  const s = await fakeService(() => 200)
  await close(s)
  return s.port
}

/** Runs the health check with only the given environment; resolves with its exit code. */
async function healthcheck (env: Record<string, string>, args: string[] = []): Promise<number> {
  return await new Promise(resolve => {
    const child = execFile(process.execPath, [SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '', ...env } }, () => {})
    child.once('exit', code => { resolve(code ?? -1) })
  })
}

t.test('healthcheck.mjs: the API on PORT under BASE_PATH, a worker on METRICS_PORT, 2xx only', async t => {
  const ok = await fakeService(() => 200)
  const down = await fakeService(() => 503)
  t.teardown(async () => { await close(ok); await close(down) })
  const unused = String(await freePort())

  t.equal(await healthcheck({ PORT: String(ok.port) }), 0, 'a ready API passes')
  t.equal(ok.paths.at(-1), '/health/ready')
  t.equal(await healthcheck({ PORT: String(ok.port), BASE_PATH: '/adapter/' }), 0)
  t.equal(ok.paths.at(-1), '/adapter/health/ready', 'under BASE_PATH, trailing slash dropped')
  t.equal(await healthcheck({ PORT: String(ok.port) }, ['live']), 0)
  t.equal(ok.paths.at(-1), '/health/live', '`live` checks liveness')
  t.equal(await healthcheck({ ROLE: 'worker', METRICS_PORT: String(ok.port), PORT: unused, BASE_PATH: '/adapter' }), 0, 'a worker is checked on METRICS_PORT')
  t.equal(ok.paths.at(-1), '/health/ready', 'without BASE_PATH')
  t.equal(await healthcheck({ ROLE: 'api', PORT: String(down.port), METRICS_PORT: String(ok.port) }), 1, 'an API answering 503 fails, whatever METRICS_PORT says')
  t.equal(await healthcheck({ PORT: unused }), 1, 'nothing listening fails')
})

t.test('healthcheck.mjs: a service that never answers fails within the check\'s own timeout', async t => {
  const hung = await fakeService(() => 'hang')
  t.teardown(async () => { await close(hung) })
  t.equal(await healthcheck({ PORT: String(hung.port), HEALTHCHECK_TIMEOUT_MS: '200' }), 1)
  t.equal(hung.paths.length, 1, 'the request reached the service')
})
