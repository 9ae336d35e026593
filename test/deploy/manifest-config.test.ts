/**
 * The service's own start-up validation (loadConfig) accepts what each overlay gives the API and the worker: the
 * ConfigMap, ROLE, and the secret files where the pod mounts them (each mount re-rooted in a temporary directory,
 * the file contents placeholders). A misspelt variable value, two Redis settings or the descriptor store over a
 * credential file fail here as they would in the pod.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { adapterDeployments, parseManifests, readManifests, type Obj } from './manifest-rules.js'
import { kubectlRender, readKustomization, sourceObjects } from './kustomize-tree.js'

const ROOT = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url))

function hasKubectl (): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The overlay's objects: rendered by kubectl, else its files with the ConfigMap patches merged (a plain map merge). */
async function overlayObjects (dir: string): Promise<Obj[]> {
  if (hasKubectl()) return parseManifests(await kubectlRender(dir), dir)
  const objects = sourceObjects(dir)
  for (const patch of readKustomization(dir).patchFiles.flatMap(readManifests)) {
    if (patch.kind !== 'ConfigMap') continue
    const target = objects.find(o => o.kind === 'ConfigMap' && o.metadata?.name === patch.metadata?.name)
    if (target !== undefined) target.data = { ...target.data, ...patch.data }
  }
  return objects
}

/** The container's environment with every mounted path moved under `root`, and placeholder files written there. */
function podEnvironment (objects: Obj[], container: Obj, root: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const source of container.envFrom ?? []) {
    Object.assign(env, objects.find(o => o.kind === 'ConfigMap' && o.metadata?.name === source.configMapRef?.name)?.data ?? {})
  }
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value
  const mounts = [...(container.volumeMounts ?? []) as Obj[]].sort((a, b) => b.mountPath.length - a.mountPath.length)
  const remap = (path: string): string => {
    const m = mounts.find(x => path === x.mountPath || path.startsWith(`${String(x.mountPath)}/`))
    return m === undefined ? path : join(root, m.name as string, path.slice((m.mountPath as string).length))
  }
  for (const [name, value] of Object.entries(env)) {
    if (name.endsWith('_FILE')) {
      env[name] = remap(value)
      mkdirSync(dirname(env[name]), { recursive: true })
      writeFileSync(env[name], name.includes('TOKENS') ? 'placeholder placeholder-token-00000000000000000000\n' : 'placeholder-credential-0000000000000000\n')
    }
  }
  if (env.DESCRIPTOR_SECRETS_DIR !== undefined) {
    env.DESCRIPTOR_SECRETS_DIR = remap(env.DESCRIPTOR_SECRETS_DIR)
    mkdirSync(env.DESCRIPTOR_SECRETS_DIR, { recursive: true })
  }
  return env
}

for (const overlay of ['trial', 'production']) {
  t.test(`overlay ${overlay}: the service accepts the configuration of each role`, async t => {
    const objects = await overlayObjects(join(ROOT, 'overlays', overlay))
    const adapters = adapterDeployments(objects)
    t.same(adapters.map(a => a.role).sort(), ['api', 'worker'])
    const scratch = mkdtempSync(join(tmpdir(), 'manifest-config-'))
    t.teardown(() => { rmSync(scratch, { recursive: true, force: true }) })
    for (const { deployment, role } of adapters) {
      const container = (deployment.spec.template.spec.containers as Obj[]).find(c => (c.env ?? []).some((e: Obj) => e.name === 'ROLE'))
      const env = podEnvironment(objects, container ?? {}, join(scratch, role))
      const config = loadConfig(env)
      t.equal(config.role, role, `${role}: ROLE`)
      t.equal(config.port, Number(env.PORT ?? 8093), `${role}: PORT`)
      t.not(config.descriptorSecrets.dir, undefined, `${role}: a descriptor secret store`)
      t.ok(config.serviceCredentials.files.length > 0, `${role}: service credentials come from files`)
    }
  })
}

t.test('the check fails when the service would refuse to start', async t => {
  const objects = await overlayObjects(join(ROOT, 'overlays', 'trial'))
  const scratch = mkdtempSync(join(tmpdir(), 'manifest-config-'))
  t.teardown(() => { rmSync(scratch, { recursive: true, force: true }) })
  const [first] = adapterDeployments(objects)
  const container = first?.deployment.spec.template.spec.containers[0] as Obj
  const env = podEnvironment(objects, container, scratch)
  t.throws(() => loadConfig({ ...env, SHUTDOWN_GRACE_MS: 'soon' }), /SHUTDOWN_GRACE_MS/)
  t.throws(() => loadConfig({ ...env, SECRETS_DIR: '/etc/secrets' }), /SECRETS_DIR/)
  t.throws(() => loadConfig({ ...env, DESCRIPTOR_SECRETS_DIR: dirname(env.AIRBYTE_CLIENT_SECRET_FILE ?? '') }), /DESCRIPTOR_SECRETS_DIR/)
})
