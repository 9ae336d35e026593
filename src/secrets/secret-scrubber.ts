/**
 * The one scrubber every stored or emitted text goes through (task logs, result, info, errors, pino lines,
 * reverse-provisioning updates, validation errors). It knows the secret values this process has read (descriptor
 * secrets and the service's own credentials) and masks them in the shapes upstream systems commonly echo them:
 * as is, JSON-escaped, URL- and form-encoded, HTML-escaped, base64 (standard and url-safe, at the three byte
 * alignments, so a secret inside `user:secret` basic-auth base64 is caught too), hex, with the case changed or the
 * whitespace changed, and cut short (a prefix of at least CUT_MIN characters where a text was truncated: at its
 * end, before an ellipsis or a closing quote; or a suffix after an ellipsis, where a text starts mid-value).
 * It must be applied to raw upstream text *before* that text is shortened: a cut secret is harder to find.
 * It never logs, and it holds values only in memory.
 */

export const MASK = '[redacted]'
/** Values shorter than this are refused as descriptor secrets: masking them would mask ordinary words. */
export const MIN_SECRET_LENGTH = 8
/** The shortest prefix (or suffix) of a secret treated as the secret cut short. */
export const CUT_MIN = 6
/** Needles shorter than this (some base64 cores of short values) are dropped: they would match by chance. */
const MIN_NEEDLE = 6
/** Values shorter than this are not registered at all (a service credential can be short; masking "abc" is noise). */
const MIN_REGISTERED = 4

/** Texts up to this many UTF-16 units have their scrubbed form remembered, up to MEMO_ENTRIES of them. */
const MEMO_MAX_LENGTH = 256
const MEMO_ENTRIES = 4096

const WHITESPACE = /\s/
/** What may follow a value that was cut short: the end of the text, an ellipsis, a closing quote, an escape. */
const CUT_AFTER = new Set(['.', '\u2026', '"', '\'', '`', '\\', '&', '<'])
/** What precedes a value whose start was cut off: only an ellipsis (a quote or the start would catch plain words). */
const CUT_BEFORE = new Set(['.', '\u2026'])

interface Span { start: number, end: number }

/** A text lower-cased (and, for `strip`, without whitespace), with the index in the original of every unit. */
interface Normalized { text: string, map: Int32Array | undefined, length: number }

export class SecretScrubber {
  private readonly values = new Set<string>()
  /** Normalized (lower-case, no whitespace) forms of every shape of every value, for whole matches. */
  private readonly needleSet = new Set<string>()
  /** Lower-case shapes of every value (whitespace kept), for cut-short matches. */
  private readonly shapeSet = new Set<string>()
  private needles: string[] = []
  private shapes: string[] = []
  private dirty = false
  /**
   * Scrubbed forms of short texts seen lately. The same ids, names and keys are scrubbed at every checkpoint
   * and log line of a task, and each scrub tries every shape of every secret; emptied when a value is added,
   * and when full (so at most MEMO_ENTRIES of at most MEMO_MAX_LENGTH units, in this process's memory only).
   */
  private readonly memo = new Map<string, string>()

  /** Registers a value to mask from now on. Idempotent; values shorter than 4 characters are ignored. */
  add (value: string): void {
    if (value.length < MIN_REGISTERED || this.values.has(value)) return
    this.values.add(value)
    for (const shape of shapesOf(value)) {
      const lower = shape.toLowerCase()
      if (lower.length >= CUT_MIN) this.shapeSet.add(lower)
      const needle = lower.replace(/\s+/g, '')
      if (needle.length >= MIN_NEEDLE) this.needleSet.add(needle)
    }
    // Sorted at the next scrub, so loading a whole store at start-up stays linear.
    this.dirty = true
    this.memo.clear()
  }

  /** Is this exact value registered? */
  knows (value: string): boolean {
    return this.values.has(value)
  }

  get size (): number {
    return this.values.size
  }

  /** `text` with every registered value, in any of the shapes above, replaced by `[redacted]`. */
  scrub (text: string): string {
    if (this.values.size === 0 || text.length < MIN_NEEDLE) return text
    if (text.length > MEMO_MAX_LENGTH) return this.scrubNow(text)
    const known = this.memo.get(text)
    if (known !== undefined) return known
    const clean = this.scrubNow(text)
    if (this.memo.size >= MEMO_ENTRIES) this.memo.clear()
    this.memo.set(text, clean)
    return clean
  }

  private scrubNow (text: string): string {
    if (this.dirty) {
      // Longest first, so an overlapping shorter needle never splits a mask.
      this.needles = [...this.needleSet].sort((a, b) => b.length - a.length)
      this.shapes = [...this.shapeSet].sort((a, b) => b.length - a.length)
      this.dirty = false
    }
    const spans: Span[] = []
    const stripped = normalize(text, true)
    for (const needle of this.needles) {
      for (let i = stripped.text.indexOf(needle); i >= 0; i = stripped.text.indexOf(needle, i + 1)) {
        spans.push({ start: original(stripped, i), end: original(stripped, i + needle.length - 1) + 1 })
      }
    }
    const lower = normalize(text, false)
    for (const shape of this.shapes) cutMatches(lower, shape, spans)
    return spans.length === 0 ? text : mask(text, spans)
  }

  /**
   * A deep copy of `value` with every string (keys included) scrubbed; a number equal to a secret is masked too,
   * unless `numbers` is false (state that must keep its types, such as job ids).
   */
  scrubDeep<T> (value: T, opts: { numbers?: boolean } = {}): T {
    const numbers = opts.numbers ?? true
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return this.scrub(v)
      if (numbers && (typeof v === 'number' || typeof v === 'bigint')) return this.values.has(String(v)) ? MASK : v
      if (v === null || typeof v !== 'object' || depth > 200) return v
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1))
      const out: Record<string, unknown> = {}
      for (const [k, child] of Object.entries(v)) out[this.scrub(k)] = walk(child, depth + 1)
      return out
    }
    return walk(value, 0) as T
  }
}

/** The shapes a value is commonly found in, once transformed by a serializer, an encoder or a template. */
export function shapesOf (value: string): string[] {
  const out = new Set<string>([value])
  const json = JSON.stringify(value).slice(1, -1)
  out.add(json)
  out.add(JSON.stringify(json).slice(1, -1))
  out.add(json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
  out.add(value.replace(/\\/g, '\\\\').replace(/'/g, '\\\''))
  const uri = encodeURIComponent(value)
  out.add(uri)
  out.add(encodeURIComponent(uri))
  out.add(encodeURI(value))
  out.add(new URLSearchParams({ v: value }).toString().slice(2))
  out.add(uri.replace(/%20/g, '+'))
  out.add(value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'))
  out.add(value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#x27;'))
  const bytes = Buffer.from(value, 'utf8')
  out.add(bytes.toString('hex'))
  for (const core of base64Cores(bytes)) {
    out.add(core)
    out.add(core.replace(/\+/g, '-').replace(/\//g, '_'))
  }
  return [...out]
}

/**
 * The base64 characters determined by `bytes` alone when they sit at each of the three byte alignments of a
 * longer encoded text (`user:secret` in a basic-auth header puts the secret at any of them).
 */
function base64Cores (bytes: Buffer): string[] {
  const cores: string[] = []
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64').replace(/=+$/, '')
    const start = Math.ceil((8 * k) / 6)
    const end = Math.floor(((k + bytes.length) * 8) / 6)
    if (end - start >= MIN_NEEDLE) cores.push(encoded.slice(start, end))
  }
  return cores
}

function normalize (text: string, strip: boolean): Normalized {
  const lower = text.toLowerCase()
  if (lower.length !== text.length) return normalizeSlow(text, strip)
  if (!strip) return { text: lower, map: undefined, length: lower.length }
  // Fast path (lower case kept every index): drop whitespace, remembering where each kept unit came from.
  const parts: string[] = []
  const map = new Int32Array(lower.length)
  let n = 0
  let run = -1
  for (let i = 0; i < lower.length; i++) {
    if (isWhitespace(lower.charCodeAt(i))) {
      if (run >= 0) { parts.push(lower.slice(run, i)); run = -1 }
      continue
    }
    if (run < 0) run = i
    map[n++] = i
  }
  if (run === 0) return { text: lower, map: undefined, length: lower.length }
  if (run > 0) parts.push(lower.slice(run))
  const joined = parts.join('')
  return { text: joined, map, length: joined.length }
}

/** A character whose lower case has another length (e.g. U+0130): map code point by code point. */
function normalizeSlow (text: string, strip: boolean): Normalized {
  const units: string[] = []
  const map: number[] = []
  let i = 0
  for (const ch of text) {
    if (!(strip && WHITESPACE.test(ch))) {
      const lc = ch.toLowerCase()
      units.push(lc)
      for (let j = 0; j < lc.length; j++) map.push(i)
    }
    i += ch.length
  }
  const joined = units.join('')
  return { text: joined, map: Int32Array.from(map), length: joined.length }
}

/** The characters `\s` matches. */
function isWhitespace (c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
}

function original (n: Normalized, index: number): number {
  return n.map === undefined ? index : (n.map[index] ?? index)
}

/** Prefixes of `shape` at a point where a text was cut, and suffixes where a text starts mid-value. */
function cutMatches (n: Normalized, shape: string, spans: Span[]): void {
  const text = n.text
  const head = shape.slice(0, CUT_MIN)
  for (let i = text.indexOf(head); i >= 0; i = text.indexOf(head, i + 1)) {
    let k = CUT_MIN
    while (k < shape.length && i + k < text.length && text[i + k] === shape[k]) k++
    if (k === shape.length) continue
    const next = text[i + k]
    if (next === undefined || CUT_AFTER.has(next)) {
      spans.push({ start: original(n, i), end: original(n, i + k - 1) + 1 })
    }
  }
  const tail = shape.slice(-CUT_MIN)
  for (let e = text.indexOf(tail); e >= 0; e = text.indexOf(tail, e + 1)) {
    const end = e + CUT_MIN
    let k = CUT_MIN
    while (k < shape.length && end - k - 1 >= 0 && text[end - k - 1] === shape[shape.length - k - 1]) k++
    if (k === shape.length) continue
    const before = text[end - k - 1]
    if (before !== undefined && CUT_BEFORE.has(before)) {
      spans.push({ start: original(n, end - k), end: original(n, end - 1) + 1 })
    }
  }
}

function mask (text: string, spans: Span[]): string {
  spans.sort((a, b) => a.start - b.start)
  let out = ''
  let at = 0
  let open: Span | undefined
  for (const span of spans) {
    if (open !== undefined && span.start <= open.end) {
      open.end = Math.max(open.end, span.end)
      continue
    }
    if (open !== undefined) { out += text.slice(at, open.start) + MASK; at = open.end }
    open = { ...span }
  }
  if (open !== undefined) { out += text.slice(at, open.start) + MASK; at = open.end }
  return out + text.slice(at)
}
