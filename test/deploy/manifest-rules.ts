/**
 * The rules every rendering of deploy/kubernetes must keep, as functions that return the problems found (empty when
 * all is well), so the same checks run on the source files and on `kubectl kustomize` output, and a test can feed
 * them a broken copy to prove each rule bites. Schemas come from kubernetes-models; the CRDs (KEDA, Prometheus
 * Operator) get shape checks of their own.
 */
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'

// Manifests are untyped YAML; the rules below read them field by field.
export type Obj = Record<string, any>

/** The image every adapter container runs (API, worker, and the trial's simulator); kustomize may prefix a registry. */
export const ADAPTER_IMAGE = /(^|\/)tech-adapter(:|@|$)/
/** The service's own default (src/config.ts). */
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000
/** Time after the grace for closing Redis and exiting (src/main.ts bounds it to "a few seconds"). */
export const EXIT_MARGIN_MS = 10_000
const CREDENTIAL_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|TOKENS|API_KEY|PRIVATE_KEY|CREDENTIALS?)$/
const REDIS_SETTINGS = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const

const MODELS: Record<string, new (data: never) => { validate: () => void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget
}

export function parseManifests (text: string, source: string): Obj[] {
  const out: Obj[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map(e => e.message).join('; ')}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) continue
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not an object`)
    out.push(value as Obj)
  }
  return out
}

export function readManifests (file: string): Obj[] {
  return parseManifests(readFileSync(file, 'utf8'), file)
}

export const idOf = (o: Obj): string => `${String(o.kind)}/${String(o.metadata?.name)}`

function matches (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v)
}

const deployments = (objects: Obj[]): Obj[] => objects.filter(o => o.kind === 'Deployment')
const podLabels = (d: Obj): Record<string, string> => d.spec?.template?.metadata?.labels ?? {}
const containersOf = (d: Obj): Obj[] => [...(d.spec?.template?.spec?.initContainers ?? []), ...(d.spec?.template?.spec?.containers ?? [])]
/** A container that runs the service itself: the adapter image with its own entry point (the simulator overrides it). */
const isAdapter = (c: Obj): boolean => typeof c.image === 'string' && ADAPTER_IMAGE.test(c.image) && c.command === undefined
/** The API and worker Deployments: the service's containers with ROLE set. */
export function adapterDeployments (objects: Obj[]): Array<{ deployment: Obj, role: string }> {
  const out: Array<{ deployment: Obj, role: string }> = []
  for (const d of deployments(objects)) {
    for (const c of containersOf(d)) {
      const role = (c.env ?? []).find((e: Obj) => e.name === 'ROLE')?.value
      if (isAdapter(c) && typeof role === 'string') out.push({ deployment: d, role })
    }
  }
  return out
}

/** Every object against its schema (kubernetes-models) or, for the CRDs used here, its basic shape. */
export function schemaProblems (objects: Obj[]): string[] {
  const problems: string[] = []
  for (const o of objects) {
    const where = idOf(o)
    if (typeof o.metadata?.name !== 'string') problems.push(`${where}: metadata.name missing`)
    const Model = MODELS[`${String(o.apiVersion)}/${String(o.kind)}`]
    if (Model !== undefined) {
      // kustomize wraps a Secret's base64 at 70 columns; the API server's decoder skips the line breaks, the schema's
      // `byte` format does not.
      const data = o.kind === 'Secret' && o.data !== undefined
        ? { ...o, data: Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, String(v).replace(/\s+/g, '')])) }
        : o
      try { new Model(data as never).validate() } catch (err) { problems.push(`${where}: ${(err as Error).message}`) }
      continue
    }
    const crd = crdProblems(o)
    if (crd === undefined) problems.push(`${where}: no schema for ${String(o.apiVersion)} ${String(o.kind)} (add one to the test)`)
    else problems.push(...crd.map(p => `${where}: ${p}`))
  }
  return problems
}

function crdProblems (o: Obj): string[] | undefined {
  const spec = o.spec
  if (o.apiVersion === 'keda.sh/v1alpha1' && o.kind === 'ScaledObject') {
    const p: string[] = []
    if (typeof spec?.scaleTargetRef?.name !== 'string') p.push('spec.scaleTargetRef.name missing')
    if (!Array.isArray(spec?.triggers) || spec.triggers.length === 0) p.push('spec.triggers empty')
    for (const [i, t] of (spec?.triggers ?? []).entries()) {
      if (typeof t.type !== 'string') p.push(`spec.triggers.${i}.type missing`)
      if (typeof t.metadata !== 'object' || t.metadata === null) p.push(`spec.triggers.${i}.metadata missing`)
      // KEDA reads every metadata value as a string.
      for (const [k, v] of Object.entries(t.metadata ?? {})) if (typeof v !== 'string') p.push(`spec.triggers.${i}.metadata.${k} must be a string`)
      if (t.type === 'prometheus' && (typeof t.metadata?.query !== 'string' || typeof t.metadata?.serverAddress !== 'string' || typeof t.metadata?.threshold !== 'string')) {
        p.push(`spec.triggers.${i}: a prometheus trigger needs serverAddress, query and threshold`)
      }
    }
    if (typeof spec?.minReplicaCount === 'number' && typeof spec?.maxReplicaCount === 'number' && spec.minReplicaCount > spec.maxReplicaCount) p.push('minReplicaCount > maxReplicaCount')
    return p
  }
  if (o.apiVersion === 'monitoring.coreos.com/v1' && o.kind === 'PrometheusRule') {
    const p: string[] = []
    if (!Array.isArray(spec?.groups) || spec.groups.length === 0) return ['spec.groups empty']
    for (const g of spec.groups) {
      if (typeof g.name !== 'string' || !Array.isArray(g.rules) || g.rules.length === 0) { p.push('a group needs a name and rules'); continue }
      for (const r of g.rules) {
        if (typeof r.alert !== 'string' && typeof r.record !== 'string') p.push(`${g.name}: a rule needs alert or record`)
        if (typeof r.expr !== 'string' || r.expr.trim() === '') p.push(`${g.name}/${String(r.alert)}: expr missing`)
        if (r.for !== undefined && !/^\d+[smh]$/.test(String(r.for))) p.push(`${g.name}/${String(r.alert)}: for must be a duration`)
        if (typeof r.alert === 'string' && typeof r.labels?.severity !== 'string') p.push(`${g.name}/${r.alert}: labels.severity missing`)
      }
    }
    return p
  }
  if (o.apiVersion === 'monitoring.coreos.com/v1' && (o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor')) {
    const endpoints = o.kind === 'PodMonitor' ? spec?.podMetricsEndpoints : spec?.endpoints
    const p: string[] = []
    if (typeof spec?.selector !== 'object' || spec.selector === null) p.push('spec.selector missing')
    if (!Array.isArray(endpoints) || endpoints.length === 0) p.push('no endpoints')
    for (const e of endpoints ?? []) if (typeof e.port !== 'string') p.push('an endpoint needs a named port')
    return p
  }
  return undefined
}

export interface RuleOptions {
  /** A rendered overlay: Redis must be set (exactly one way), and a Deployment's ConfigMap must be present. */
  rendered?: boolean
}

function configFor (objects: Obj[], container: Obj): Record<string, string> {
  const env: Record<string, string> = {}
  for (const source of container.envFrom ?? []) {
    const cm = objects.find(o => o.kind === 'ConfigMap' && o.metadata?.name === source.configMapRef?.name)
    Object.assign(env, cm?.data ?? {})
  }
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value
  return env
}

const inside = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.replace(/\/+$/, '') + '/')
const dirOf = (path: string): string => path.replace(/\/[^/]*$/, '') || '/'

/** Probes, resources, security context, grace period, secrets as files: for every container of every Deployment. */
export function workloadProblems (objects: Obj[], opts: RuleOptions = {}): string[] {
  const problems: string[] = []
  for (const d of deployments(objects)) {
    const where = idOf(d)
    const pod = d.spec?.template?.spec ?? {}
    const psc = pod.securityContext ?? {}
    if (psc.runAsNonRoot !== true) problems.push(`${where}: pod securityContext.runAsNonRoot must be true`)
    if (psc.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${where}: pod seccompProfile must be RuntimeDefault`)
    // A named image user cannot be checked by the kubelet against runAsNonRoot: the uid must be numeric.
    if (!(Number.isInteger(psc.runAsUser) && psc.runAsUser > 0)) problems.push(`${where}: pod securityContext.runAsUser must be a non-zero uid`)
    const sa = objects.find(o => o.kind === 'ServiceAccount' && o.metadata?.name === (pod.serviceAccountName ?? 'default'))
    if (pod.automountServiceAccountToken !== false && sa?.automountServiceAccountToken !== false) problems.push(`${where}: the ServiceAccount token is mounted`)
    const volumes: Obj[] = pod.volumes ?? []
    for (const c of containersOf(d)) {
      const cw = `${where} container ${String(c.name)}`
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        if (c[probe] === undefined) problems.push(`${cw}: ${probe} missing`)
      }
      const req = c.resources?.requests ?? {}
      if (req.cpu === undefined) problems.push(`${cw}: CPU request missing`)
      if (req.memory === undefined) problems.push(`${cw}: memory request missing`)
      if (c.resources?.limits?.memory === undefined) problems.push(`${cw}: memory limit missing`)
      const sc = c.securityContext ?? {}
      if (sc.runAsNonRoot !== true) problems.push(`${cw}: securityContext.runAsNonRoot must be true`)
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${cw}: securityContext.readOnlyRootFilesystem must be true`)
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${cw}: securityContext.allowPrivilegeEscalation must be false`)
      if (sc.privileged === true) problems.push(`${cw}: privileged`)
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${cw}: capabilities must drop ALL`)
      if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${cw}: capabilities added`)
      if (sc.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${cw}: seccompProfile must be RuntimeDefault`)
      const mounts: Obj[] = c.volumeMounts ?? []
      const tmp = mounts.find(m => m.mountPath === '/tmp')
      if (tmp === undefined || volumes.find(v => v.name === tmp.name)?.emptyDir === undefined) problems.push(`${cw}: /tmp must be an emptyDir (the root filesystem is read-only)`)
      for (const m of mounts) if (volumes.find(v => v.name === m.name) === undefined) problems.push(`${cw}: mount ${String(m.name)} has no volume`)
      if (isAdapter(c)) problems.push(...adapterContainerProblems(objects, d, c, opts).map(p => `${cw}: ${p}`))
    }
  }
  return problems
}

function adapterContainerProblems (objects: Obj[], d: Obj, c: Obj, opts: RuleOptions): string[] {
  const problems: string[] = []
  const env = configFor(objects, c)
  const role = env.ROLE ?? 'all'
  const pod = d.spec?.template?.spec ?? {}
  if (opts.rendered === true) {
    for (const source of c.envFrom ?? []) {
      const name = source.configMapRef?.name
      if (name !== undefined && !objects.some(o => o.kind === 'ConfigMap' && o.metadata?.name === name)) problems.push(`ConfigMap ${String(name)} missing`)
    }
  }
  // Probes: HTTP on /health/*; the API's under BASE_PATH on PORT, a worker's on METRICS_PORT.
  if (role === 'api' || role === 'worker' || role === 'all') {
    const port = Number(role === 'worker' ? (env.METRICS_PORT ?? 9464) : (env.PORT ?? 8093))
    const prefix = role === 'worker' ? '' : (env.BASE_PATH ?? '').replace(/\/+$/, '')
    const portNumber = (ref: unknown): number | undefined => typeof ref === 'number' ? ref : (c.ports ?? []).find((p: Obj) => p.name === ref)?.containerPort
    for (const [probe, path] of [['startupProbe', 'live'], ['livenessProbe', 'live'], ['readinessProbe', 'ready']] as const) {
      const get = c[probe]?.httpGet
      if (get === undefined) { problems.push(`${probe} must be an HTTP probe`); continue }
      if (get.path !== `${prefix}/health/${path}`) problems.push(`${probe} path ${String(get.path)}, expected ${prefix}/health/${path}`)
      if (portNumber(get.port) !== port) problems.push(`${probe} port ${String(get.port)} is not ${role === 'worker' ? 'METRICS_PORT' : 'PORT'} (${port})`)
    }
    // The kubelet's clock starts before preStop: the pause, the grace and the exit must all fit.
    const preStop = c.lifecycle?.preStop
    if (preStop !== undefined && preStop.sleep === undefined) problems.push('preStop must be a sleep action (its length counts against the grace period)')
    const pauseMs = Number(preStop?.sleep?.seconds ?? 0) * 1000
    const grace = Number(env.SHUTDOWN_GRACE_MS ?? DEFAULT_SHUTDOWN_GRACE_MS)
    const period = pod.terminationGracePeriodSeconds ?? 30
    if (period * 1000 < pauseMs + grace + EXIT_MARGIN_MS) {
      problems.push(`terminationGracePeriodSeconds ${String(period)} must exceed the preStop pause (${pauseMs} ms) plus SHUTDOWN_GRACE_MS (${grace} ms) by ${EXIT_MARGIN_MS / 1000} s`)
    }
  } else {
    problems.push(`ROLE must be api, worker or all, got ${String(role)}`)
  }
  // Secrets are files: nothing credential-like in the environment, every *_FILE under a read-only secret mount, and
  // the descriptor store apart from them (the service refuses an overlap at start-up).
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef !== undefined) problems.push(`${String(e.name)} comes from a Secret as a variable; mount it as a file`)
  }
  for (const name of Object.keys(env)) {
    if (CREDENTIAL_NAME.test(name) && !name.startsWith('DESCRIPTOR_SECRET_')) problems.push(`${name} holds a credential in the environment; use ${name}_FILE`)
  }
  const mounts: Obj[] = c.volumeMounts ?? []
  const volumes: Obj[] = pod.volumes ?? []
  const mountOf = (path: string): Obj | undefined => mounts.filter(m => inside(path, m.mountPath)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0]
  const isSecretVolume = (m: Obj | undefined): boolean => {
    const v = volumes.find(x => x.name === m?.name)
    return v?.secret !== undefined || (v?.projected?.sources ?? []).some((s: Obj) => s.secret !== undefined)
  }
  const files = Object.entries(env).filter(([k]) => k.endsWith('_FILE'))
  for (const [name, path] of files) {
    const m = mountOf(path)
    if (m === undefined || !isSecretVolume(m)) problems.push(`${name} (${path}) is not under a Secret mount`)
    else if (m.readOnly !== true) problems.push(`${name}: mount ${String(m.name)} must be read-only`)
  }
  const store = env.DESCRIPTOR_SECRETS_DIR
  if (store !== undefined) {
    const m = mountOf(store)
    if (m === undefined || m.mountPath !== store || !isSecretVolume(m)) problems.push(`DESCRIPTOR_SECRETS_DIR (${store}) must be a Secret mount of its own`)
    for (const [name, path] of files) {
      const dir = dirOf(path)
      if (inside(store, dir) || inside(dir, store)) problems.push(`DESCRIPTOR_SECRETS_DIR overlaps the directory of ${name}`)
      if (m !== undefined && mountOf(path)?.name === m.name) problems.push(`DESCRIPTOR_SECRETS_DIR shares a volume with ${name}`)
    }
  } else {
    problems.push('DESCRIPTOR_SECRETS_DIR not set')
  }
  // Every endpoint the process calls (Redis, the targets, a JWKS) on a port its egress policies open. Links for
  // people (*_UI_URL) are not called.
  const open = egressPorts(objects, d)
  for (const [name, value] of Object.entries(env)) {
    const endpoints = name.endsWith('_URL') && !name.endsWith('_UI_URL')
      ? [endpointPort(value)]
      : (name === 'REDIS_SENTINELS' || name === 'REDIS_CLUSTER_NODES') ? value.split(',').map(hp => Number(hp.trim().split(':').pop())) : []
    for (const port of endpoints) {
      if (port !== undefined && !open.has(`TCP/${port}`)) problems.push(`${name} needs egress to TCP/${port}, which no NetworkPolicy opens`)
    }
  }
  if (opts.rendered === true) {
    const set = REDIS_SETTINGS.filter(k => env[k] !== undefined)
    if (set.length !== 1) problems.push(`exactly one of ${REDIS_SETTINGS.join(', ')} must be set, got ${set.length === 0 ? 'none' : set.join(', ')}`)
    if (env.REDIS_SENTINELS !== undefined && env.REDIS_SENTINEL_NAME === undefined) problems.push('REDIS_SENTINELS needs REDIS_SENTINEL_NAME')
    if ('SECRETS_DIR' in env) problems.push('SECRETS_DIR is refused by the service; use DESCRIPTOR_SECRETS_DIR')
  }
  return problems
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'redis:': 6379, 'rediss:': 6379 }

function endpointPort (value: string): number | undefined {
  try {
    const url = new URL(value)
    return url.port !== '' ? Number(url.port) : DEFAULT_PORTS[url.protocol]
  } catch {
    return undefined
  }
}

/** `PROTOCOL/port` pairs the egress policies selecting a Deployment's pods allow. */
function egressPorts (objects: Obj[], d: Obj): Set<string> {
  const policies = objects.filter(p => p.kind === 'NetworkPolicy' && matches(p.spec?.podSelector?.matchLabels, podLabels(d)) && (p.spec?.policyTypes ?? []).includes('Egress'))
  return new Set(policies.flatMap(p => (p.spec?.egress ?? []).flatMap((r: Obj) => (r.ports ?? []).map((x: Obj) => `${String(x.protocol ?? 'TCP')}/${String(x.port)}`))))
}

/** The Service, autoscalers, PDBs and NetworkPolicies point at what exists. */
export function wiringProblems (objects: Obj[]): string[] {
  const problems: string[] = []
  const adapters = adapterDeployments(objects)
  const api = adapters.filter(a => a.role === 'api').map(a => a.deployment)
  const byName = new Map(deployments(objects).map(d => [d.metadata.name as string, d]))
  if (api.length === 0) problems.push('no API Deployment (ROLE=api)')
  if (!adapters.some(a => a.role === 'worker')) problems.push('no worker Deployment (ROLE=worker)')

  for (const s of objects.filter(o => o.kind === 'Service')) {
    const selected = deployments(objects).filter(d => matches(s.spec?.selector, podLabels(d)))
    if (selected.length === 0) problems.push(`${idOf(s)}: selects no pods`)
    for (const d of selected) {
      for (const port of s.spec?.ports ?? []) {
        const target = port.targetPort ?? port.port
        const found = containersOf(d).some(c => (c.ports ?? []).some((p: Obj) => p.name === target || p.containerPort === target))
        if (!found) problems.push(`${idOf(s)}: targetPort ${String(target)} is not a port of ${idOf(d)}`)
      }
    }
  }
  const apiServices = objects.filter(o => o.kind === 'Service' && api.some(d => matches(o.spec?.selector, podLabels(d))))
  if (api.length > 0 && apiServices.length === 0) problems.push('no Service selects the API pods')
  for (const s of apiServices) {
    const other = adapters.filter(a => a.role !== 'api' && matches(s.spec?.selector, podLabels(a.deployment)))
    if (other.length > 0) problems.push(`${idOf(s)}: also selects ${other.map(a => idOf(a.deployment)).join(', ')}`)
  }

  const scalers = new Map<string, string[]>()
  for (const o of objects.filter(x => x.kind === 'HorizontalPodAutoscaler' || x.kind === 'ScaledObject')) {
    const ref = o.spec?.scaleTargetRef ?? {}
    const target = byName.get(ref.name)
    if ((ref.kind ?? 'Deployment') !== 'Deployment' || target === undefined) { problems.push(`${idOf(o)}: scales ${String(ref.kind)}/${String(ref.name)}, which does not exist`); continue }
    scalers.set(ref.name, [...(scalers.get(ref.name) ?? []), idOf(o)])
    if (o.kind === 'HorizontalPodAutoscaler') {
      const cpu = (o.spec?.metrics ?? []).some((m: Obj) => m.type === 'Resource' && m.resource?.name === 'cpu')
      if (!cpu) problems.push(`${idOf(o)}: does not scale on CPU`)
      if (!((o.spec?.minReplicas ?? 1) <= o.spec?.maxReplicas)) problems.push(`${idOf(o)}: minReplicas > maxReplicas`)
    }
    // A utilisation target needs requests to compute against; the replica count belongs to the autoscaler.
    if (target.spec?.replicas !== undefined) problems.push(`${idOf(target)}: sets replicas although ${idOf(o)} owns the count`)
  }
  for (const { deployment } of adapters) {
    const owners = scalers.get(deployment.metadata.name) ?? []
    if (owners.length !== 1) problems.push(`${idOf(deployment)}: needs exactly one autoscaler, has ${owners.length === 0 ? 'none' : owners.join(', ')}`)
  }

  for (const p of objects.filter(o => o.kind === 'PodDisruptionBudget')) {
    if (!deployments(objects).some(d => matches(p.spec?.selector?.matchLabels, podLabels(d)))) problems.push(`${idOf(p)}: selects no pods`)
  }
  for (const { deployment } of adapters) {
    if (!objects.some(o => o.kind === 'PodDisruptionBudget' && matches(o.spec?.selector?.matchLabels, podLabels(deployment)))) problems.push(`${idOf(deployment)}: no PodDisruptionBudget`)
  }
  problems.push(...networkPolicyProblems(objects))
  return problems
}

function networkPolicyProblems (objects: Obj[]): string[] {
  const problems: string[] = []
  const policies = objects.filter(o => o.kind === 'NetworkPolicy')
  const selecting = (d: Obj, type: string): Obj[] => policies.filter(p => matches(p.spec?.podSelector?.matchLabels, podLabels(d)) && (p.spec?.policyTypes ?? []).includes(type))
  for (const p of policies) {
    if (!deployments(objects).some(d => matches(p.spec?.podSelector?.matchLabels, podLabels(d)))) problems.push(`${idOf(p)}: selects no pods`)
  }
  for (const { deployment, role } of adapterDeployments(objects)) {
    const where = idOf(deployment)
    const ingress = selecting(deployment, 'Ingress')
    if (ingress.length === 0) problems.push(`${where}: no ingress NetworkPolicy (all ingress allowed)`)
    for (const p of ingress) {
      for (const rule of p.spec?.ingress ?? []) {
        const from: Obj[] = rule.from ?? []
        // An absent `from` admits everyone; an empty namespaceSelector admits every namespace.
        if (from.length === 0) problems.push(`${idOf(p)}: an ingress rule admits every source`)
        for (const peer of from) {
          if (role === 'api' && (peer.namespaceSelector === undefined || Object.keys(peer.namespaceSelector.matchLabels ?? {}).length === 0)) {
            problems.push(`${idOf(p)}: API ingress must come from a labelled namespace`)
          }
          if (peer.ipBlock?.cidr === '0.0.0.0/0') problems.push(`${idOf(p)}: ingress from anywhere`)
        }
      }
    }
    if (selecting(deployment, 'Egress').length === 0) problems.push(`${where}: no egress NetworkPolicy`)
    const allowed = egressPorts(objects, deployment)
    for (const need of ['UDP/53', 'TCP/53', 'TCP/6379', 'TCP/443']) {
      if (!allowed.has(need)) problems.push(`${where}: egress to ${need} not allowed`)
    }
  }
  return problems
}

/** Every rule at once. */
export function allProblems (objects: Obj[], opts: RuleOptions = {}): string[] {
  return [...schemaProblems(objects), ...workloadProblems(objects, opts), ...wiringProblems(objects)]
}
