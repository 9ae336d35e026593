/**
 * deploy/kubernetes: every manifest against the Kubernetes schemas (kubernetes-models) and the deployment rules
 * (probes on /health/*, requests and a memory limit, the restricted security context, a grace period longer than
 * SHUTDOWN_GRACE_MS, secrets as files, no ServiceAccount token, a Service on the API pods, one autoscaler per
 * Deployment, NetworkPolicies). Where kubectl exists each overlay is rendered with `kubectl kustomize` and the output
 * checked the same way; without it the overlays' own files are checked and every patch must hit an object.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { adapterDeployments, allProblems, parseManifests, readManifests, schemaProblems, workloadProblems, wiringProblems, type Obj } from './manifest-rules.js'
import { danglingPatches, kubectlRender, kustomizationDirs, missingReferences, readKustomization, sourceObjects, yamlFilesUnder } from './kustomize-tree.js'

const ROOT = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url))
const BASE = join(ROOT, 'base')
const OVERLAYS = ['trial', 'production'].map(name => join(ROOT, 'overlays', name))
const EXTRAS = { keda: join(ROOT, 'extras/keda'), monitoring: join(ROOT, 'extras/monitoring') }

function hasKubectl (): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
const KUBECTL = hasKubectl()

const clone = <T>(value: T): T => structuredClone(value)
const byId = (objects: Obj[], kind: string, name: string): Obj => {
  const found = objects.find(o => o.kind === kind && o.metadata?.name === name)
  if (found === undefined) throw new Error(`${kind}/${name} not found`)
  return found
}

t.test('every YAML file under deploy/kubernetes parses and is used by a kustomization', async t => {
  const used = new Set<string>()
  for (const dir of kustomizationDirs(ROOT)) {
    const k = readKustomization(dir)
    used.add(join(dir, 'kustomization.yaml'))
    for (const r of k.resources) if (!statSync(r, { throwIfNoEntry: false })?.isDirectory()) used.add(r)
    for (const p of k.patchFiles) used.add(p)
  }
  const files = yamlFilesUnder(ROOT)
  t.ok(files.length >= 15, `found ${files.length} YAML files`)
  for (const file of files) {
    t.doesNotThrow(() => readManifests(file), `${file} parses`)
  }
  t.same(files.filter(f => !used.has(f)), [], 'no YAML file is left out of every kustomization')
})

t.test('every path a kustomization names exists', async t => {
  const dirs = kustomizationDirs(ROOT)
  t.ok(dirs.includes(BASE) && OVERLAYS.every(o => dirs.includes(o)), 'base and both overlays are kustomizations')
  for (const dir of dirs) t.same(missingReferences(readKustomization(dir)), [], dir)
  t.equal(readKustomization(EXTRAS.keda).kind, 'Component')
  t.equal(readKustomization(EXTRAS.monitoring).kind, 'Component')
})

t.test('the base passes the schemas and every rule', async t => {
  const objects = sourceObjects(BASE)
  t.same(allProblems(objects), [])
  t.same(adapterDeployments(objects).map(a => a.role).sort(), ['api', 'worker'], 'API and worker Deployments from one image')
  const kinds = new Set(objects.map(o => o.kind as string))
  for (const kind of ['Deployment', 'Service', 'ConfigMap', 'ServiceAccount', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']) {
    t.ok(kinds.has(kind), `the base has a ${kind}`)
  }
  t.notOk(objects.some(o => o.kind === 'Deployment' && JSON.stringify(o).includes('redis:')), 'the base runs no Redis')
})

t.test('the optional components pass the schemas and hit objects of the base', async t => {
  for (const dir of Object.values(EXTRAS)) {
    const own = readKustomization(dir).resources.flatMap(readManifests)
    t.same(schemaProblems(own), [], dir)
    t.same(danglingPatches(BASE, [dir]), [], `${dir} patches what the base has`)
  }
  const [scaled] = readManifests(join(EXTRAS.keda, 'scaledobject.yaml'))
  t.match(scaled?.spec?.triggers?.[0]?.metadata?.query, /tech_adapter_queue_jobs\{[^}]*state="waiting"/, 'KEDA scales on queue depth')
  const rules = readManifests(join(EXTRAS.monitoring, 'prometheus-rules.yaml')).flatMap(o => o.spec.groups.flatMap((g: Obj) => g.rules as Obj[]))
  for (const [what, metric] of [['failing tasks', 'tech_adapter_tasks_finished_total'], ['a growing queue', 'tech_adapter_queue_jobs'], ['upstream errors', 'tech_adapter_upstream_requests_total'], ['Redis unavailable', 'tech_adapter_redis_up']] as const) {
    t.ok(rules.some(r => typeof r.alert === 'string' && (r.expr as string).includes(metric)), `an alert on ${what} (${metric})`)
  }
})

for (const overlay of OVERLAYS) {
  const name = overlay.split('/').pop() ?? overlay
  t.test(`overlay ${name}: every patch lands on an object it has`, async t => {
    t.same(danglingPatches(overlay), [])
  })

  if (KUBECTL) {
    t.test(`overlay ${name}: the kubectl kustomize rendering passes the schemas and every rule`, async t => {
      const text = await kubectlRender(overlay)
      const objects = parseManifests(text, `kubectl kustomize ${overlay}`)
      t.comment(`rendered size of ${name}: ${Buffer.byteLength(text)} bytes, ${text.split('\n').length - 1} lines, ${objects.length} objects`)
      t.same(allProblems(objects, { rendered: true }), [])
      const namespace = byId(objects, 'Namespace', objects.find(o => o.kind === 'Namespace')?.metadata?.name as string)
      t.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'Pod Security Admission enforces restricted')
      for (const o of objects.filter(x => x.kind !== 'Namespace')) t.equal(o.metadata?.namespace, namespace.metadata.name, `${o.kind as string}/${o.metadata?.name as string} is in the overlay's namespace`)
      checkOverlayRedis(t, name, objects)
    })
  } else {
    t.test(`overlay ${name}: its own files pass the schemas and every rule (kubectl absent: unpatched)`, async t => {
      t.same(allProblems(sourceObjects(overlay)), [])
    })
  }
}

function checkOverlayRedis (t: Test, name: string, objects: Obj[]): void {
  const config = byId(objects, 'ConfigMap', 'tech-adapter-config').data as Record<string, string>
  const redisWorkloads = objects.filter(o => o.kind === 'Deployment' && JSON.stringify(o.spec.template.spec.containers).includes('"redis:'))
  if (name === 'trial') {
    t.equal(redisWorkloads.length, 1, 'the trial runs one Redis of its own')
    const url = new URL(config.REDIS_URL ?? '')
    const service = byId(objects, 'Service', url.hostname)
    t.ok((service.spec.ports as Obj[]).some(p => p.port === Number(url.port || 6379)), 'REDIS_URL names the trial Redis Service and its port')
  } else {
    t.equal(redisWorkloads.length, 0, 'production runs no Redis of its own')
    const setting = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].filter(k => config[k] !== undefined)
    t.equal(setting.length, 1, `one external Redis setting (${setting.join(', ')})`)
  }
}

if (KUBECTL) {
  t.test('production with the KEDA and monitoring components renders, with KEDA as the only worker autoscaler', async t => {
    const text = await kubectlRender(OVERLAYS[1] ?? '', [EXTRAS.keda, EXTRAS.monitoring])
    const objects = parseManifests(text, 'production + extras')
    t.comment(`rendered size of production + extras: ${Buffer.byteLength(text)} bytes, ${text.split('\n').length - 1} lines`)
    t.same(allProblems(objects, { rendered: true }), [])
    t.notOk(objects.some(o => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'tech-adapter-worker'), 'the worker HPA is gone')
    t.ok(objects.some(o => o.kind === 'ScaledObject'), 'the ScaledObject is there')
    t.ok(objects.some(o => o.kind === 'PrometheusRule') && objects.some(o => o.kind === 'PodMonitor'), 'rules and scraping are there')
  })
} else {
  t.test('the KEDA component removes the worker HPA it replaces (kubectl absent: read from its patch)', async t => {
    const k = readKustomization(EXTRAS.keda)
    t.ok(k.inlinePatches.some(p => p.target.kind === 'HorizontalPodAutoscaler' && p.target.name === 'tech-adapter-worker' && p.patch.includes('$patch: delete')))
  })
}

t.test('the rules catch what they guard against', async t => {
  const base = sourceObjects(BASE)
  const broken = (change: (objects: Obj[]) => void): string[] => {
    const copy = clone(base)
    change(copy)
    return allProblems(copy)
  }
  const worker = (objects: Obj[]): Obj => byId(objects, 'Deployment', 'tech-adapter-worker')
  const api = (objects: Obj[]): Obj => byId(objects, 'Deployment', 'tech-adapter-api')
  const container = (d: Obj): Obj => d.spec.template.spec.containers[0]
  const cases: Array<[string, (objects: Obj[]) => void, RegExp]> = [
    ['a missing startup probe', o => { delete container(worker(o)).startupProbe }, /startupProbe missing/],
    ['a readiness probe on the wrong path', o => { container(api(o)).readinessProbe.httpGet.path = '/healthz' }, /readinessProbe path \/healthz/],
    ['a worker probe on the API port', o => { container(worker(o)).livenessProbe.httpGet.port = 8093 }, /livenessProbe port 8093 is not METRICS_PORT/],
    ['probes that ignore BASE_PATH', o => { byId(o, 'ConfigMap', 'tech-adapter-config').data.BASE_PATH = '/adapter' }, /expected \/adapter\/health\/live/],
    ['no memory limit', o => { delete container(api(o)).resources.limits }, /memory limit missing/],
    ['no CPU request', o => { delete container(worker(o)).resources.requests.cpu }, /CPU request missing/],
    ['a writable root filesystem', o => { container(api(o)).securityContext.readOnlyRootFilesystem = false }, /readOnlyRootFilesystem/],
    ['capabilities kept', o => { container(api(o)).securityContext.capabilities = { drop: ['NET_RAW'] } }, /drop ALL/],
    ['privilege escalation', o => { delete container(worker(o)).securityContext.allowPrivilegeEscalation }, /allowPrivilegeEscalation/],
    ['no pod seccomp profile', o => { delete api(o).spec.template.spec.securityContext.seccompProfile }, /pod seccompProfile/],
    ['a grace period shorter than SHUTDOWN_GRACE_MS', o => { byId(o, 'ConfigMap', 'tech-adapter-config').data.SHUTDOWN_GRACE_MS = '35000'; delete container(api(o)).lifecycle }, /terminationGracePeriodSeconds 40 must exceed the preStop pause \(0 ms\) plus SHUTDOWN_GRACE_MS \(35000 ms\)/],
    ['a preStop pause that eats the grace period', o => { container(api(o)).lifecycle.preStop.sleep.seconds = 10 }, /preStop pause \(10000 ms\)/],
    ['a preStop of unknown length', o => { container(api(o)).lifecycle.preStop = { exec: { command: ['sleep', '5'] } } }, /preStop must be a sleep action/],
    ['a mounted ServiceAccount token', o => { byId(o, 'ServiceAccount', 'tech-adapter').automountServiceAccountToken = true; delete api(o).spec.template.spec.automountServiceAccountToken }, /ServiceAccount token is mounted/],
    ['a credential in the environment', o => { byId(o, 'ConfigMap', 'tech-adapter-config').data.AIRBYTE_CLIENT_SECRET = 'x' }, /AIRBYTE_CLIENT_SECRET holds a credential/],
    ['a secret as an environment variable', o => { container(worker(o)).env.push({ name: 'AIRBYTE_TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }) }, /comes from a Secret as a variable/],
    ['a credential file outside any Secret mount', o => { byId(o, 'ConfigMap', 'tech-adapter-config').data.AIRBYTE_PASSWORD_FILE = '/etc/airbyte/password' }, /AIRBYTE_PASSWORD_FILE .* not under a Secret mount/],
    ['the descriptor store over the service credentials', o => { byId(o, 'ConfigMap', 'tech-adapter-config').data.DESCRIPTOR_SECRETS_DIR = '/run/secrets' }, /DESCRIPTOR_SECRETS_DIR/],
    ['no /tmp emptyDir', o => { const c = container(api(o)); c.volumeMounts = c.volumeMounts.filter((m: Obj) => m.mountPath !== '/tmp') }, /\/tmp must be an emptyDir/],
    ['a Service on the wrong pods', o => { byId(o, 'Service', 'tech-adapter-api').spec.selector['app.kubernetes.io/component'] = 'apii' }, /selects no pods/],
    ['a Service on API and worker pods', o => { delete byId(o, 'Service', 'tech-adapter-api').spec.selector['app.kubernetes.io/component'] }, /also selects Deployment\/tech-adapter-worker/],
    ['an HPA on a Deployment that does not exist', o => { byId(o, 'HorizontalPodAutoscaler', 'tech-adapter-worker').spec.scaleTargetRef.name = 'tech-adapter-workers' }, /does not exist/],
    ['two autoscalers on the worker', o => { o.push({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'w' }, spec: { scaleTargetRef: { name: 'tech-adapter-worker' }, triggers: [{ type: 'cpu', metadata: { value: '70' } }] } }) }, /needs exactly one autoscaler/],
    ['replicas set next to an HPA', o => { api(o).spec.replicas = 3 }, /sets replicas although/],
    ['no PDB for the worker', o => { o.splice(o.indexOf(byId(o, 'PodDisruptionBudget', 'tech-adapter-worker')), 1) }, /no PodDisruptionBudget/],
    ['API ingress from anywhere', o => { byId(o, 'NetworkPolicy', 'tech-adapter-api-ingress').spec.ingress = [{}] }, /admits every source/],
    ['API ingress from every namespace', o => { byId(o, 'NetworkPolicy', 'tech-adapter-api-ingress').spec.ingress[0].from = [{ namespaceSelector: {} }] }, /labelled namespace/],
    ['a target on a port egress does not open', o => { byId(o, 'ConfigMap', 'tech-adapter-config').data.AIRBYTE_API_URL = 'http://airbyte.airbyte:8001/api/public/v1' }, /AIRBYTE_API_URL needs egress to TCP\/8001/],
    ['Sentinels on a port egress does not open', o => { byId(o, 'ConfigMap', 'tech-adapter-config').data.REDIS_SENTINELS = 's-0:5000,s-1:26379' }, /REDIS_SENTINELS needs egress to TCP\/5000/],
    ['no DNS egress', o => { byId(o, 'NetworkPolicy', 'tech-adapter-egress').spec.egress.shift() }, /egress to UDP\/53/],
    ['a field the schema refuses', o => { container(api(o)).ports[0].containerPort = '8093' }, /containerPort must be integer/],
    ['a kind without a schema', o => { o.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }) }, /no schema for example.com\/v1 Widget/]
  ]
  t.same(allProblems(base), [], 'the unbroken base has no problems')
  for (const [what, change, expected] of cases) {
    const problems = broken(change)
    t.ok(problems.some(p => expected.test(p)), `${what} is caught`, { problems })
  }
  t.match(workloadProblems(clone(base), { rendered: true }).join('\n'), /exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES must be set, got none/, 'a rendering without a Redis setting is caught')
  t.same(wiringProblems(base), [])
})

t.test('an overlay patch on an object the base lacks, or on a field it lacks, is caught', async t => {
  const scratch = mkdtempSync(join(tmpdir(), 'overlay-'))
  t.teardown(() => { rmSync(scratch, { recursive: true, force: true }) })
  writeFileSync(join(scratch, 'kustomization.yaml'), JSON.stringify({
    resources: [relative(scratch, BASE)],
    patches: [
      { path: 'misnamed.yaml' },
      { target: { kind: 'HorizontalPodAutoscaler' }, patch: '- op: replace\n  path: /spec/minReplica\n  value: 1\n' },
      { target: { kind: 'StatefulSet' }, patch: '- op: add\n  path: /spec/replicas\n  value: 1\n' }
    ]
  }))
  writeFileSync(join(scratch, 'misnamed.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: tech-adapter-apii\n')
  const problems = danglingPatches(scratch).join('\n')
  t.match(problems, /patches Deployment\/tech-adapter-apii, which the overlay does not have/)
  t.match(problems, /replace \/spec\/minReplica on HorizontalPodAutoscaler\/tech-adapter-api, which has no such field/)
  t.match(problems, /targets \{"kind":"StatefulSet"\}, which matches nothing/)
  if (KUBECTL) {
    await t.rejects(kubectlRender(scratch), 'kubectl refuses it too')
  }
})
