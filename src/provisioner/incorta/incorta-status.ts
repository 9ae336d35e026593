/**
 * The one place that reads Incorta's load-status bodies. `/schema/load`, the load-job part of
 * `/schema/{name}/status` and `/load-plan/status/{id}` are not publicly documented, so nothing here relies on
 * one shape: a load job is any object with a key whose name contains "status" (or is "state") holding a word,
 * its times under keys containing "start" / "end", its message under a key containing "message" or "error".
 * State words compare case-insensitively, ignoring spaces, underscores and hyphens (`Finished With Errors`,
 * `FINISHED_WITH_ERRORS`); an unknown word reads as `unknown`, which callers treat as still running. When a
 * real cluster shows another shape, correct it here (and the simulator's in src/sandbox/incorta/incorta-simulator-bodies.ts).
 */

export type LoadStateKind = 'queued' | 'running' | 'succeeded' | 'finished-with-errors' | 'failed' | 'interrupted' | 'unknown'

export interface LoadReading {
  state: LoadStateKind
  /** The word as Incorta wrote it. */
  word: string
  /** Epoch ms. */
  startedAt?: number
  endedAt?: number
  message?: string
}

export interface SchemaLoadReading extends LoadReading { schemaName: string }

export interface PlanExecutionReading extends LoadReading {
  /** The plan's name, when the execution's own object names it (a key naming a plan and a name). */
  planName?: string
  /** Per schema, when the body lists them (level 3 and up). */
  schemas: SchemaLoadReading[]
}

const WORDS: Record<string, LoadStateKind> = {
  inqueue: 'queued',
  queued: 'queued',
  pending: 'queued',
  waiting: 'queued',
  notstarted: 'queued',
  inprogress: 'running',
  running: 'running',
  loading: 'running',
  started: 'running',
  succeeded: 'succeeded',
  success: 'succeeded',
  successful: 'succeeded',
  completed: 'succeeded',
  finished: 'succeeded',
  finishedwitherrors: 'finished-with-errors',
  completedwitherrors: 'finished-with-errors',
  succeededwitherrors: 'finished-with-errors',
  partiallysucceeded: 'finished-with-errors',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  interrupted: 'interrupted',
  aborted: 'interrupted',
  cancelled: 'interrupted',
  canceled: 'interrupted',
  stopped: 'interrupted',
  killed: 'interrupted'
}

export function readState (word: unknown): LoadStateKind {
  if (typeof word !== 'string') return 'unknown'
  return WORDS[word.toLowerCase().replace(/[\s_-]+/g, '')] ?? 'unknown'
}

export function isTerminal (state: LoadStateKind | 'not-started'): boolean {
  return state === 'succeeded' || isFailure(state)
}

export function isFailure (state: LoadStateKind | 'not-started'): boolean {
  return state === 'finished-with-errors' || state === 'failed' || state === 'interrupted'
}

/** Epoch ms from epoch seconds or ms (number or digits), ISO 8601, or `yyyy-MM-dd HH:mm:ss[.SSS]` read as UTC. */
export function readTime (value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value < 1e11 ? value * 1000 : value
  if (typeof value !== 'string' || value.trim() === '') return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return readTime(Number(text))
  const sql = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text
  const ms = Date.parse(sql)
  return Number.isNaN(ms) ? undefined : ms
}

interface Candidate extends LoadReading { node: Record<string, unknown>, depth: number }

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
/** Bounds the walk of a body that is huge or deeply nested. */
const MAX_NODES = 5000
const MAX_DEPTH = 12

function asReading (node: Record<string, unknown>): LoadReading | undefined {
  let word: string | undefined
  let startedAt: number | undefined
  let endedAt: number | undefined
  let message: string | undefined
  for (const [key, value] of Object.entries(node)) {
    const k = key.toLowerCase()
    if ((k.includes('status') || k === 'state') && typeof value === 'string' && value.trim() !== '') {
      // A key holding a known state word wins over another status-like key (`schemaStatus: ACTIVE`).
      if (word === undefined || (readState(word) === 'unknown' && readState(value) !== 'unknown')) word = value.trim()
    } else if (k.includes('start')) {
      startedAt ??= readTime(value)
    } else if (k.includes('end') || k.includes('finish')) {
      endedAt ??= readTime(value)
    } else if ((k.includes('message') || k.includes('error')) && typeof value === 'string' && value.trim() !== '') {
      message ??= value.trim()
    }
  }
  if (word === undefined) return undefined
  const reading: LoadReading = { state: readState(word), word }
  if (startedAt !== undefined) reading.startedAt = startedAt
  if (endedAt !== undefined) reading.endedAt = endedAt
  if (message !== undefined) reading.message = message
  return reading
}

function candidates (root: unknown): Candidate[] {
  const found: Candidate[] = []
  const queue: Array<{ value: unknown, depth: number }> = [{ value: root, depth: 0 }]
  let seen = 0
  // Breadth first, so callers can prefer the shallowest reading (a plan's own state over its groups').
  while (queue.length > 0 && seen < MAX_NODES) {
    const { value, depth } = queue.shift() as { value: unknown, depth: number }
    seen++
    if (depth > MAX_DEPTH) continue
    if (Array.isArray(value)) {
      for (const v of value) queue.push({ value: v, depth: depth + 1 })
      continue
    }
    if (!isObject(value)) continue
    const reading = asReading(value)
    if (reading !== undefined) found.push({ ...reading, node: value, depth })
    for (const v of Object.values(value)) if (typeof v === 'object' && v !== null) queue.push({ value: v, depth: depth + 1 })
  }
  return found
}

function strip ({ node: _node, depth: _depth, ...reading }: Candidate): LoadReading {
  return reading
}

/** The latest load job of a `/schema/{name}/status` body (looked for inside `physicalSchemaDetails` when present). */
export function readSchemaStatus (body: unknown): LoadReading | undefined {
  const details = findKey(body, 'physicalschemadetails')
  const jobs = candidates(details ?? body).filter((c) => c.state !== 'unknown' || details !== undefined)
  if (jobs.length === 0) return undefined
  const timed = jobs.filter((j) => j.startedAt !== undefined)
  const pool = timed.length > 0 ? timed : jobs
  const latest = pool.reduce((best, j) => ((j.startedAt ?? 0) > (best.startedAt ?? 0) ? j : best))
  return strip(latest)
}

/** `/schema/load`'s `{loadingStatus: {<schema>: <status>}}` (not confirmed): the word given per schema, if any. */
export function readLoadAccepted (body: unknown): Record<string, string> {
  const status = findKey(body, 'loadingstatus')
  if (!isObject(status)) return {}
  return Object.fromEntries(Object.entries(status).filter((e): e is [string, string] => typeof e[1] === 'string'))
}

/** A `/load-plan/status/{id}` body: the execution's own state (the shallowest one), its plan's name and its schemas' when listed. */
export function readPlanStatus (body: unknown): PlanExecutionReading | undefined {
  const all = candidates(body)
  const schemas: SchemaLoadReading[] = []
  const others: Candidate[] = []
  for (const c of all) {
    const name = Object.entries(c.node).find(([k, v]) => k.toLowerCase().includes('schema') && typeof v === 'string')?.[1]
    if (typeof name === 'string') schemas.push({ ...strip(c), schemaName: name })
    else others.push(c)
  }
  const own = others.filter((c) => c.state !== 'unknown')[0] ?? others[0]
  if (own === undefined) return undefined
  const planName = Object.entries(own.node).find(([k, v]) => /plan/i.test(k) && /name$/i.test(k) && typeof v === 'string')?.[1]
  return { ...strip(own), ...(typeof planName === 'string' ? { planName } : {}), schemas }
}

function findKey (body: unknown, lowerKey: string, depth = 0): unknown {
  if (!isObject(body) || depth > 3) return undefined
  for (const [k, v] of Object.entries(body)) if (k.toLowerCase() === lowerKey) return v
  for (const v of Object.values(body)) {
    const found = findKey(v, lowerKey, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/** Incorta's clock may differ from ours: a job that started this much before our trigger still counts. */
export const CLOCK_SKEW_MS = 120_000

/**
 * Does this load job belong to the load this request triggered at `triggeredAt` (our clock, epoch ms)?
 * Only when it started after the latest job seen before the trigger (`baselineStartedAt`), and not long before
 * the trigger. A job without a start time counts only when the schema had never been loaded before.
 */
export function countsAsOurs (job: LoadReading, triggeredAt: number, baseline: { startedAt?: number, seen: boolean }): boolean {
  if (job.startedAt === undefined) return !baseline.seen
  if (job.startedAt < triggeredAt - CLOCK_SKEW_MS) return false
  return baseline.startedAt === undefined || job.startedAt > baseline.startedAt
}

/** A short, single-line excerpt of a body for the debug log. */
export function bodyExcerpt (body: unknown, max = 1500): string {
  let text: string
  try {
    text = JSON.stringify(body) ?? String(body)
  } catch {
    text = String(body)
  }
  return text.length > max ? `${text.slice(0, max)}...` : text
}
