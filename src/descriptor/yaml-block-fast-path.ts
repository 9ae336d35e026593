/**
 * A fast path for the YAML most descriptors are: block mappings and sequences of one-line scalars, as
 * `yaml.stringify` and people write them. One pass over the lines, no CST, no Document: about 10x cheaper than
 * yaml's lexer, parser and composer (npm run bench, the enqueue figures). It accepts only what it is sure of and
 * answers `undefined` for everything else (anchors, aliases, tags, flow collections other than `{}` and `[]`,
 * block scalars, quoted scalars over several lines, scalars with comments, tabs, CR, document markers, any scalar whose core-schema type
 * is not a plain string, decimal number, boolean or null, duplicate keys, and anything near a limit), which
 * then goes through the full parser (yaml-parse.ts) for its value or its error. So it never decides a refusal
 * and never accepts what the full parser would refuse; test/descriptor/yaml-block-fast-path.test.ts compares
 * the two on generated and hand-written documents. Linear in the input: each line is read once, each mapping
 * keeps a Set of its keys.
 */

export interface BlockYamlLimits {
  maxNodes: number
  maxKeysPerMapping: number
  maxDepth: number
}

interface Token {
  /** Column of the token's first character. */
  indent: number
  /** A `-` sequence indicator, or the text after the indentation (and after any `- ` before it). */
  dash: boolean
  text: string
  /** Blank or comment lines came between this token and the one before (they matter inside a scalar). */
  gap: boolean
}

/** Not this path's to decide: the full parser reads the input. */
class Fallback extends Error {}
const FALLBACK = new Fallback()

// Plain scalars the YAML 1.2 core schema reads as something other than a string, besides the forms handled
// below: any of them sends the document to the full parser rather than risk reading it differently.
const CORE_NON_STRING = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/
const SIMPLE_INT = /^-?(?:0|[1-9][0-9]{0,14})$/
const SIMPLE_FLOAT = /^-?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,15}$/
// A plain scalar may not start with an indicator; `-`, `?` and `:` may start one when a non-space follows,
// left to the full parser too.
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`]/

// eslint-disable-next-line no-control-regex
const NOT_PLAIN_TEXT = /[\t\r\uFEFF\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\uFFFE\uFFFF]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function tokenize (text: string): Token[] {
  const tokens: Token[] = []
  let start = 0
  let gap = false
  while (start <= text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    let col = 0
    while (start + col < end && text.charCodeAt(start + col) === 32) col++
    let rest = text.slice(start + col, end)
    start = end + 1
    if (rest === '' || rest.startsWith('#')) { gap = true; continue }
    if (rest.startsWith('---') || rest.startsWith('...') || rest.startsWith('%')) throw FALLBACK
    // Sequence indicators, possibly several on one line (`- - a`), each a token of its own column.
    while (rest === '-' || rest.startsWith('- ')) {
      tokens.push({ indent: col, dash: true, text: '', gap })
      gap = false
      let skip = 1
      while (skip < rest.length && rest.charCodeAt(skip) === 32) skip++
      col += skip
      rest = rest.slice(skip)
    }
    if (rest !== '') tokens.push({ indent: col, dash: false, text: rest, gap })
    gap = false
  }
  return tokens
}

/** Where the key of `key: value` / `key:` ends (the colon's index), or -1 when `text` is not such an entry. */
function keyEnd (text: string): number {
  const first = text.charCodeAt(0)
  if (first === 34 || first === 39) {
    const close = text.indexOf(first === 34 ? '"' : "'", 1)
    if (close === -1 || text.charCodeAt(close + 1) !== 58) return -1
    return close + 1
  }
  const colon = text.indexOf(': ')
  if (colon !== -1) return colon
  return text.endsWith(':') ? text.length - 1 : -1
}

function doubleQuoted (body: string): string {
  let out = ''
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (c === '"') throw FALLBACK
    if (c !== '\\') { out += c; continue }
    const e = body[++i]
    if (e === 'n') out += '\n'
    else if (e === 't') out += '\t'
    else if (e === 'r') out += '\r'
    else if (e === '"' || e === '\\' || e === '/') out += e
    else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(body.slice(i + 1, i + 5))) {
      const code = Number.parseInt(body.slice(i + 1, i + 5), 16)
      // A lone surrogate half: the full parser's business.
      if (code >= 0xd800 && code <= 0xdfff) throw FALLBACK
      out += String.fromCharCode(code)
      i += 4
    } else throw FALLBACK
  }
  return out
}

/** A one-line quoted or plain scalar, as the core schema reads it. */
function scalar (raw: string, isKey: boolean): unknown {
  const text = raw.trimEnd()
  const first = text.charCodeAt(0)
  if (first === 34 || first === 39) {
    if (text.length < 2 || text.charCodeAt(text.length - 1) !== first) throw FALLBACK
    const body = text.slice(1, -1)
    if (first === 34) return doubleQuoted(body)
    // Single quotes: `''` is a quote; a lone one ends the scalar early, so something follows it.
    if (body.replace(/''/g, '').includes("'")) throw FALLBACK
    return body.replace(/''/g, "'")
  }
  if (!isKey && (text === '{}' || text === '[]')) return text === '{}' ? {} : []
  if (text === '' || INDICATOR_START.test(text) || text.includes(': ') || text.includes(' #') || text.endsWith(':')) throw FALLBACK
  if (!CORE_NON_STRING.test(text)) return text
  if (isKey) throw FALLBACK
  if (text === 'null') return null
  if (text === 'true') return true
  if (text === 'false') return false
  if (SIMPLE_INT.test(text) || SIMPLE_FLOAT.test(text)) return Number(text)
  throw FALLBACK
}

class BlockParser {
  private i = 0
  private nodes = 0

  constructor (private readonly tokens: Token[], private readonly limits: BlockYamlLimits) {}

  document (): unknown {
    const first = this.tokens[0]
    if (first === undefined) throw FALLBACK
    const value = this.node(first.indent, 1)
    if (this.i !== this.tokens.length) throw FALLBACK
    return value
  }

  private count (): void {
    // Headroom below the limit: near it, the full parser's own count decides.
    if (++this.nodes >= this.limits.maxNodes - 2) throw FALLBACK
  }

  /** The node whose first token is the current one, at column `indent`. */
  private node (indent: number, depth: number): unknown {
    const token = this.tokens[this.i]
    if (token === undefined || token.indent !== indent) throw FALLBACK
    if (token.dash) return this.sequence(indent, depth)
    if (keyEnd(token.text) !== -1) return this.mapping(indent, depth)
    this.i++
    this.count()
    // A scalar continued on a deeper line is a multi-line plain scalar.
    if ((this.tokens[this.i]?.indent ?? -1) > indent) throw FALLBACK
    return scalar(token.text, false)
  }

  /**
   * A mapping value with its continuation lines (deeper than the key): a plain scalar folded onto several lines,
   * as yaml.stringify wraps a long description, joined by single spaces. Anything else deeper is not this
   * path's: a quoted scalar over lines, a blank or comment line inside (it would fold into a newline), a line
   * that reads as a key or a comment, a sequence indicator.
   */
  private continued (first: string, indent: number): string {
    // Parts joined once at the end: appending to one growing string would copy it per line.
    const parts = [first.trimEnd()]
    const quoted = first.startsWith('"') || first.startsWith("'")
    for (let next = this.tokens[this.i]; next !== undefined && next.indent > indent; next = this.tokens[this.i]) {
      const line = next.text.trimEnd()
      if (quoted || next.dash || next.gap || line.startsWith('#') || line.includes(': ') || line.includes(' #') || line.endsWith(':')) throw FALLBACK
      parts.push(line)
      this.i++
    }
    return parts.length === 1 ? first : parts.join(' ')
  }

  private sequence (indent: number, depth: number): unknown[] {
    if (depth >= this.limits.maxDepth - 2) throw FALLBACK
    this.count()
    const items: unknown[] = []
    for (let t = this.tokens[this.i]; t !== undefined && t.indent === indent && t.dash; t = this.tokens[this.i]) {
      this.i++
      const next = this.tokens[this.i]
      if (next !== undefined && next.indent > indent) items.push(this.node(next.indent, depth + 1))
      else { this.count(); items.push(null) }
    }
    const after = this.tokens[this.i]
    if (after !== undefined && after.indent > indent) throw FALLBACK
    return items
  }

  private mapping (indent: number, depth: number): Record<string, unknown> {
    if (depth >= this.limits.maxDepth - 2) throw FALLBACK
    this.count()
    const map: Record<string, unknown> = {}
    const keys = new Set<string>()
    for (let t = this.tokens[this.i]; t !== undefined && t.indent === indent && !t.dash; t = this.tokens[this.i]) {
      const end = keyEnd(t.text)
      if (end === -1) throw FALLBACK
      const key = scalar(t.text.slice(0, end), true)
      if (typeof key !== 'string' || key === '__proto__' || keys.has(key)) throw FALLBACK
      keys.add(key)
      if (keys.size >= this.limits.maxKeysPerMapping) throw FALLBACK
      this.count()
      this.i++
      const rest = t.text.slice(end + 1).trimStart()
      const next = this.tokens[this.i]
      let value: unknown
      if (rest !== '') {
        this.count()
        value = scalar(this.continued(rest, indent), false)
      } else if (next !== undefined && (next.indent > indent || (next.indent === indent && next.dash))) {
        // A sequence may sit at its key's own column (`key:\n- a`).
        value = this.node(next.indent, depth + 1)
      } else {
        this.count()
        value = null
      }
      map[key] = value
    }
    const after = this.tokens[this.i]
    if (after !== undefined && after.indent > indent) throw FALLBACK
    return map
  }
}

/** The document's data when it is plain block YAML this path reads with certainty; otherwise undefined. */
export function tryParseBlockYaml (text: string, limits: BlockYamlLimits): { value: unknown } | undefined {
  // Tabs, CR and a BOM have rules of their own; non-printable characters and lone surrogate halves are the
  // full parser's to refuse or read.
  if (NOT_PLAIN_TEXT.test(text) || LONE_SURROGATE.test(text)) return undefined
  try {
    return { value: new BlockParser(tokenize(text), limits).document() }
  } catch (err) {
    if (err instanceof Fallback) return undefined
    throw err
  }
}
