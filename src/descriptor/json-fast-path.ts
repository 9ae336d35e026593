/**
 * JSON is valid YAML, and many clients send descriptors as JSON. `JSON.parse` is ~50x faster than the YAML
 * parser, but silently keeps the last of duplicate keys; one linear scan of the (already valid) text restores
 * the YAML path's guarantees: duplicate keys refused, nesting bounded. No recursion, so hostile nesting cannot
 * overflow the stack. `__proto__` becomes an own data property, exactly as with the YAML path.
 */

export type JsonScanProblem =
  | { kind: 'duplicate-key', key: string, offset: number }
  | { kind: 'too-deep', offset: number }
  | { kind: 'too-many-keys', keys: number, offset: number }
  | { kind: 'too-many-nodes', viaAlias: false, offset: number }

export interface JsonScanLimits {
  maxDepth: number
  /** Values in the document (keys included, as the YAML path counts them). Default unbounded. */
  maxNodes?: number
  /** Keys in one object. Default unbounded. */
  maxKeysPerMapping?: number
}

// Characters a number or true/false/null is made of: a value starts where one follows none of them.
const PRIMITIVE_START = new Set([...'-0123456789tfn'].map((c) => c.charCodeAt(0)))
const PRIMITIVE_PART = new Set([...'-+.0123456789eEtrufalsn'].map((c) => c.charCodeAt(0)))

/** The parsed value, or `undefined` when the text is not JSON (the caller then parses it as YAML). */
export function tryParseJson (text: string): { value: unknown } | undefined {
  const first = text.trimStart()[0]
  if (first !== '{' && first !== '[') return undefined
  try {
    return { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

/** Finds the first duplicate key, over-deep nesting or limit passed in text that is known to be valid JSON. */
export function scanJson (text: string, limits: JsonScanLimits): JsonScanProblem | undefined {
  const { maxDepth } = limits
  const maxNodes = limits.maxNodes ?? Infinity
  const maxKeys = limits.maxKeysPerMapping ?? Infinity
  // One entry per open container: the keys seen so far (objects) or null (arrays).
  const keys: Array<Set<string> | null> = []
  let expectKey = false
  let nodes = 0
  let previous = 0
  for (let i = 0; i < text.length; previous = text.charCodeAt(i), i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      const start = i
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++
      if (++nodes > maxNodes) return { kind: 'too-many-nodes', viaAlias: false, offset: start }
      const top = keys[keys.length - 1]
      if (expectKey && top !== null && top !== undefined) {
        const raw = text.slice(start, i + 1)
        const key = raw.includes('\\') ? JSON.parse(raw) as string : raw.slice(1, -1)
        if (top.has(key)) return { kind: 'duplicate-key', key, offset: start }
        top.add(key)
        if (top.size > maxKeys) return { kind: 'too-many-keys', keys: top.size, offset: start }
        expectKey = false
      }
    } else if (PRIMITIVE_START.has(c) && !PRIMITIVE_PART.has(previous)) {
      if (++nodes > maxNodes) return { kind: 'too-many-nodes', viaAlias: false, offset: i }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++nodes > maxNodes) return { kind: 'too-many-nodes', viaAlias: false, offset: i }
      keys.push(c === 0x7b ? new Set() : null)
      if (keys.length > maxDepth) return { kind: 'too-deep', offset: i }
      expectKey = c === 0x7b
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      keys.pop()
      expectKey = false
    } else if (c === 0x2c /* , */) {
      expectKey = keys[keys.length - 1] !== null
    }
  }
  return undefined
}

/** 1-based line and column of a character offset, for messages. */
export function linePosition (text: string, offset: number): { line: number, col: number } {
  let line = 1
  let lineStart = 0
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++
    lineStart = i + 1
  }
  return { line, col: offset - lineStart + 1 }
}
