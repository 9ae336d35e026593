/**
 * Validation of the Quartz cron expressions Airbyte schedules take (`0 0 2 * * ?`), so a bad schedule fails
 * at validation with a readable reason rather than as a 4xx at provisioning. Syntax only: it computes no fire times.
 */

interface FieldSpec {
  name: string
  min: number
  max: number
  /** Three-letter names, the first standing for `min`. */
  names?: readonly string[]
  /** Ranges may wrap (`22-2`, `NOV-FEB`); not meaningful for years. */
  wraps: boolean
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']

const FIELDS: readonly FieldSpec[] = [
  { name: 'seconds', min: 0, max: 59, wraps: true },
  { name: 'minutes', min: 0, max: 59, wraps: true },
  { name: 'hours', min: 0, max: 23, wraps: true },
  { name: 'day-of-month', min: 1, max: 31, wraps: true },
  { name: 'month', min: 1, max: 12, names: MONTHS, wraps: true },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, wraps: true },
  { name: 'year', min: 1970, max: 2099, wraps: false }
]
const DOM = 3
const DOW = 5

/** The problem with `expression` in words, or undefined when it is a valid Quartz cron expression. */
export function quartzCronProblem (expression: string): string | undefined {
  const written = expression.trim().split(/\s+/).filter(Boolean)
  // Names and special characters are case-insensitive in Quartz.
  const parts = written.map((p) => p.toUpperCase())
  if (parts.length === 0) return 'the cron expression is empty'
  if (parts.length < 6 || parts.length > 7) {
    const unix = parts.length === 5 ? ' (this looks like a 5-field Unix cron: Quartz adds a seconds field first and needs ? in day-of-month or day-of-week)' : ''
    return `a Quartz cron expression has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got ${parts.length}${unix}`
  }
  for (const [i, part] of parts.entries()) {
    const spec = FIELDS[i] as FieldSpec
    const problem = fieldProblem(part, spec, i)
    if (problem !== undefined) return `${spec.name} field "${written[i] ?? part}": ${problem}`
  }
  const domAny = parts[DOM] === '?'
  const dowAny = parts[DOW] === '?'
  if (domAny === dowAny) {
    return domAny
      ? '? may stand in day-of-month or day-of-week, not both'
      : 'Quartz needs ? in exactly one of day-of-month and day-of-week (e.g. "0 0 2 * * ?" or "0 0 2 ? * MON")'
  }
  return undefined
}

function fieldProblem (field: string, spec: FieldSpec, index: number): string | undefined {
  if (field === '?') return index === DOM || index === DOW ? undefined : '? is allowed only in day-of-month and day-of-week'
  if (index === DOM) {
    // L (last day), L-n (n days before it), LW (last weekday), nW (weekday nearest day n): each stands alone.
    if (field === 'L' || field === 'LW') return undefined
    const offset = /^L-(\d+)$/.exec(field)
    if (offset !== null) return Number(offset[1]) <= 30 ? undefined : 'L-n takes an offset of at most 30'
    const weekday = /^(\d+)W$/.exec(field)
    if (weekday !== null) return valueProblem(weekday[1] as string, spec)
  }
  if (index === DOW) {
    // L (Saturday), nL (last weekday n of the month), n#k (k-th weekday n): each stands alone.
    if (field === 'L') return undefined
    const last = /^([A-Z]+|\d+)L$/.exec(field)
    if (last !== null) return valueProblem(last[1] as string, spec)
    const nth = /^([A-Z]+|\d+)#(\d+)$/.exec(field)
    if (nth !== null) {
      const k = Number(nth[2])
      return valueProblem(nth[1] as string, spec) ?? (k >= 1 && k <= 5 ? undefined : 'the n in day#n must be between 1 and 5')
    }
  }
  // Words of three letters or more are names (checked below); what remains must hold no special character.
  if (/[LW#?]/.test(field.replace(/[A-Z]{3,}/g, ''))) {
    return 'L, W, # and ? must stand alone in their field (not in a list or range) and only in the day fields'
  }
  for (const item of field.split(',')) {
    if (item === '') return 'empty element in a list'
    const problem = itemProblem(item, spec)
    if (problem !== undefined) return problem
  }
  return undefined
}

function itemProblem (item: string, spec: FieldSpec): string | undefined {
  const [range, step, extra] = item.split('/')
  if (extra !== undefined) return `"${item}" has more than one /`
  if (step !== undefined) {
    if (!/^\d+$/.test(step)) return `the step "${step}" is not a number`
    const n = Number(step)
    const span = spec.max - spec.min + 1
    if (n < 1 || n > span) return `the step must be between 1 and ${span}, got ${n}`
  }
  if (range === undefined || range === '') return `"${item}" has no value before the /`
  if (range === '*') return undefined
  const bounds = range.split('-')
  if (bounds.length > 2) return `"${range}" is not a value or a range`
  for (const bound of bounds) {
    const problem = valueProblem(bound, spec)
    if (problem !== undefined) return problem
  }
  if (bounds.length === 2 && !spec.wraps && toNumber(bounds[0] as string, spec) > toNumber(bounds[1] as string, spec)) {
    return `the range "${range}" runs backwards`
  }
  return undefined
}

function valueProblem (value: string, spec: FieldSpec): string | undefined {
  if (value === '') return 'missing value'
  if (/^\d+$/.test(value)) {
    const n = Number(value)
    return n >= spec.min && n <= spec.max ? undefined : `${n} is outside ${spec.min}-${spec.max}`
  }
  if (spec.names === undefined) return `"${value}" is not a number`
  return spec.names.includes(value) ? undefined : `"${value}" is not one of ${spec.names.join(', ')} or ${spec.min}-${spec.max}`
}

function toNumber (value: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(value) ?? -1
  return named >= 0 ? spec.min + named : Number(value)
}
