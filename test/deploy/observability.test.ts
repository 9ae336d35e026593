/**
 * The Grafana dashboard and the alert rules query only the metric and label names the service exports (fixed in
 * issue 8, README "Deploying on Kubernetes"), so a renamed or misspelt series fails here instead of drawing an
 * empty panel or an alert that can never fire.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { readManifests, type Obj } from './manifest-rules.js'

const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/tech-adapter-dashboard.json', import.meta.url))
const RULES = fileURLToPath(new URL('../../deploy/kubernetes/extras/monitoring/prometheus-rules.yaml', import.meta.url))
const SCALED = fileURLToPath(new URL('../../deploy/kubernetes/extras/keda/scaledobject.yaml', import.meta.url))

/** Every series the service exports, with its labels; histograms add _bucket (le), _sum and _count. */
const METRICS: Record<string, { labels: string[], histogram?: boolean }> = {
  tech_adapter_http_requests_total: { labels: ['route', 'method', 'status_code'] },
  tech_adapter_http_request_duration_seconds: { labels: ['route', 'method'], histogram: true },
  tech_adapter_tasks_submitted_total: { labels: ['operation', 'handler'] },
  tech_adapter_tasks_finished_total: { labels: ['operation', 'handler', 'outcome'] },
  tech_adapter_task_duration_seconds: { labels: ['operation', 'handler', 'outcome'], histogram: true },
  tech_adapter_tasks_waiting_on_component: { labels: [] },
  tech_adapter_queue_jobs: { labels: ['state'] },
  tech_adapter_upstream_requests_total: { labels: ['target', 'operation', 'status_class'] },
  tech_adapter_upstream_request_duration_seconds: { labels: ['target', 'operation'], histogram: true },
  tech_adapter_upstream_retries_total: { labels: ['target', 'operation'] },
  tech_adapter_upstream_rate_limit_waits_total: { labels: ['target'] },
  tech_adapter_upstream_lockouts_total: { labels: ['target'] },
  tech_adapter_upstream_token_refreshes_total: { labels: ['target', 'outcome'] },
  tech_adapter_upstream_calls_per_component: { labels: ['target', 'operation', 'outcome'], histogram: true },
  tech_adapter_redis_up: { labels: ['role'] },
  // prom-client's default metrics.
  process_resident_memory_bytes: { labels: [] },
  process_cpu_seconds_total: { labels: [] },
  nodejs_heap_size_used_bytes: { labels: [] },
  nodejs_eventloop_lag_p99_seconds: { labels: [] },
  // Prometheus's own.
  up: { labels: [] }
}
/** Labels Prometheus (Operator) adds to every scraped series. */
const TARGET_LABELS = ['namespace', 'pod', 'container', 'instance', 'job', 'service', 'endpoint']
/** Closed value sets, by `series.label` or by label. */
const LABEL_VALUES: Record<string, string[]> = {
  'tech_adapter_tasks_finished_total.outcome': ['completed', 'failed'],
  'tech_adapter_task_duration_seconds.outcome': ['completed', 'failed'],
  'tech_adapter_upstream_calls_per_component.outcome': ['completed', 'failed'],
  state: ['waiting', 'active', 'delayed', 'failed'],
  status_class: ['2xx', '3xx', '4xx', '5xx', 'network']
}

function seriesName (name: string): { metric: string, labels: string[] } | undefined {
  if (METRICS[name] !== undefined) return { metric: name, labels: METRICS[name].labels }
  const base = name.replace(/_(bucket|sum|count)$/, '')
  const m = METRICS[base]
  if (m?.histogram !== true) return undefined
  return { metric: base, labels: name.endsWith('_bucket') ? [...m.labels, 'le'] : m.labels }
}

const FUNCTIONS = new Set(['sum', 'max', 'min', 'avg', 'count', 'rate', 'increase', 'delta', 'deriv', 'histogram_quantile', 'by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'label_values', 'humanizePercentage', 'abs', 'clamp_min'])

/** Problems of one PromQL expression: unknown series, selectors on labels a series lacks, impossible label values. */
function exprProblems (expr: string): string[] {
  const problems: string[] = []
  // Drop Grafana template variables, range/duration brackets and string literals before looking for identifiers.
  const bare = expr.replace(/\$\w+|\$\{\w+\}/g, '').replace(/\[[^\]]*\]/g, '')
  const used: Array<{ metric: string, labels: string[] }> = []
  for (const match of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?/g)) {
    const [, name = '', , selector] = match
    const inSelector = bare.slice(0, match.index).lastIndexOf('{') > bare.slice(0, match.index).lastIndexOf('}')
    if (inSelector || FUNCTIONS.has(name) || /^\d/.test(name) || /^(le|s|m|h)$/.test(name)) continue
    const previous = bare.slice(0, match.index).trimEnd()
    // `by (a, b)` / `without (...)` lists are labels, not series.
    if (/\b(by|without)\s*\([^)]*$/.test(previous)) continue
    const series = seriesName(name)
    if (series === undefined) { problems.push(`unknown series ${name} in: ${expr}`); continue }
    used.push(series)
    for (const m of (selector ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      const [, label = '', op, value = ''] = m
      const values = LABEL_VALUES[`${series.metric}.${label}`] ?? LABEL_VALUES[label]
      if (!series.labels.includes(label) && !TARGET_LABELS.includes(label)) problems.push(`${name} has no label ${label}`)
      if (op === '=' && values !== undefined && !values.includes(value)) problems.push(`${name}{${label}="${value}"} can never match`)
      if (op === '=~' && values !== undefined && !value.split('|').every(v => values.includes(v))) problems.push(`${name}{${label}=~"${value}"} names a value that does not exist`)
    }
  }
  // Grouping labels must exist on the series being aggregated.
  const known = new Set([...used.flatMap(u => u.labels), ...TARGET_LABELS])
  for (const m of bare.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of (m[1] ?? '').split(',').map(s => s.trim()).filter(Boolean)) {
      if (!known.has(label)) problems.push(`groups by ${label}, which none of its series has: ${expr}`)
    }
  }
  return problems
}

t.test('the expression check itself rejects unknown series, labels and values', async t => {
  t.same(exprProblems('sum by (route) (rate(tech_adapter_http_requests_total{status_code=~"5.."}[5m]))'), [])
  t.match(exprProblems('rate(tech_adapter_http_request_total[5m])').join(), /unknown series tech_adapter_http_request_total/)
  t.match(exprProblems('tech_adapter_queue_jobs{status="waiting"}').join(), /has no label status/)
  t.match(exprProblems('tech_adapter_queue_jobs{state="queued"}').join(), /can never match/)
  t.match(exprProblems('sum by (target) (tech_adapter_queue_jobs)').join(), /groups by target/)
  t.same(exprProblems('histogram_quantile(0.95, sum by (route, le) (rate(tech_adapter_http_request_duration_seconds_bucket{namespace=~"$namespace"}[5m])))'), [])
})

t.test('the Grafana dashboard is importable and queries only exported series', async t => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Obj
  t.equal(typeof dashboard.title, 'string')
  t.equal(typeof dashboard.uid, 'string')
  const panels = (dashboard.panels as Obj[]).filter(p => p.type !== 'row')
  t.ok(panels.length >= 12, `${panels.length} panels`)
  const ids = (dashboard.panels as Obj[]).map(p => p.id as number)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  const cells = new Map<string, string>()
  for (const p of dashboard.panels as Obj[]) {
    const g = p.gridPos as { x: number, y: number, w: number, h: number }
    t.ok(g.x >= 0 && g.x + g.w <= 24, `${String(p.title)} fits the 24-column grid`)
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        const other = cells.get(`${x},${y}`)
        if (other !== undefined) t.fail(`${String(p.title)} overlaps ${other}`)
        cells.set(`${x},${y}`, String(p.title))
      }
    }
  }
  const exprs = panels.flatMap(p => (p.targets as Obj[]).map(x => x.expr as string))
  t.ok(panels.every(p => (p.targets as Obj[]).length > 0), 'every panel queries something')
  for (const expr of exprs) t.same(exprProblems(expr), [], expr)
  for (const metric of Object.keys(METRICS).filter(m => m.startsWith('tech_adapter_'))) {
    t.ok(exprs.some(e => e.includes(metric)), `a panel shows ${metric}`)
  }
})

t.test('the alert rules and the KEDA query use only exported series', async t => {
  const rules = readManifests(RULES).flatMap(o => (o.spec.groups as Obj[]).flatMap(g => g.rules as Obj[]))
  for (const r of rules) t.same(exprProblems(r.expr as string), [], String(r.alert))
  const [scaled] = readManifests(SCALED)
  for (const trigger of (scaled?.spec.triggers ?? []) as Obj[]) {
    if (trigger.type === 'prometheus') t.same(exprProblems(trigger.metadata.query as string), [])
  }
})
