/**
 * Parses untrusted YAML (descriptors arrive in request bodies) into plain data, refusing anything that could
 * cost more than its size or smuggle behaviour in: oversized input, alias bombs, custom tags, duplicate keys,
 * several documents, absurd nesting. It knows nothing about descriptors: whether the result is the right shape
 * is the validator's job.
 */
import { Composer, Lexer, LineCounter, Parser, type CST, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type YAMLError } from 'yaml'
import { DescriptorInvalidError, type InputProblem } from '../errors.js'
import { linePosition, scanJson, tryParseJson } from './json-fast-path.js'

export interface ParseYamlOptions {
  /** Refuse input larger than this many UTF-8 bytes, before parsing. */
  maxBytes: number
  /** Dot path the input came from (`descriptor`, `provisionInfo.request`), used as every problem's path. */
  field: string
  /** Alias expansions allowed, scaled by the size of what each alias repeats (yaml's own measure). Default 100. */
  maxAliasCount?: number
  /** Deepest nesting of mappings and lists accepted. Default 64. */
  maxDepth?: number
}

// `core` is YAML 1.2's JSON-compatible schema: no merge keys, `yes` stays a string and a date stays text.
// yaml would still resolve an explicit !!binary, !!set or !!timestamp (into a Uint8Array, a Set, a Date) unless
// `resolveKnownTags` is off; with it off they are unresolved tags, refused below.
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  schema: 'core',
  customTags: [],
  resolveKnownTags: false,
  merge: false,
  uniqueKeys: true,
  strict: true,
  // Positions come from our own LineCounter; yaml's pretty errors would quote the source back.
  prettyErrors: false,
  // yaml warns on the console about collection keys; a hostile request must not be able to write to our logs.
  logLevel: 'error'
}

const MAX_YAML_PROBLEMS = 5

class TooDeepError extends Error {}

export function parseYamlSafely (text: string, opts: ParseYamlOptions): unknown {
  const { field } = opts
  const maxDepth = opts.maxDepth ?? 64
  if (typeof text !== 'string') throw invalid(field, 'must be a YAML (or JSON) string')
  // Every UTF-16 unit is at least one UTF-8 byte, so a long string is over the limit without counting.
  if (text.length > opts.maxBytes || (text.length * 3 > opts.maxBytes && Buffer.byteLength(text, 'utf8') > opts.maxBytes)) {
    throw invalid(field, `is larger than the ${opts.maxBytes} bytes accepted`,
      'split the data product or move bulky content out of the descriptor')
  }

  const json = tryParseJson(text)
  if (json !== undefined) {
    const problem = scanJson(text, maxDepth)
    if (problem === undefined) return json.value
    const { line, col } = linePosition(text, problem.offset)
    if (problem.kind === 'too-deep') throw invalid(field, `nests mappings and lists deeper than ${maxDepth} levels`)
    throw invalid(field, `has a duplicate key ${JSON.stringify(problem.key)} at line ${line}, column ${col}`,
      'each key may appear once per mapping; remove or rename the repeated one')
  }

  const lines = new LineCounter()
  let result: unknown
  try {
    const doc = composeOne(text, lines, maxDepth)
    if (doc === 'several') {
      throw invalid(field, 'holds more than one YAML document', 'send a single document (remove the `---` separators)')
    }
    // Warnings include unresolved tags (`!!js/function`, `!foo`): yaml would silently turn those into plain
    // strings, hiding that the author meant something else. Refuse them like errors.
    const found = [...doc.errors, ...doc.warnings]
    if (found.length > 0) {
      throw new DescriptorInvalidError(found.slice(0, MAX_YAML_PROBLEMS).map((e) => yamlProblem(field, e, lines)))
    }
    result = doc.toJS({ maxAliasCount: opts.maxAliasCount ?? 100 })
  } catch (err) {
    if (err instanceof DescriptorInvalidError) throw err
    if (err instanceof TooDeepError || err instanceof RangeError) {
      throw invalid(field, `nests mappings and lists deeper than ${maxDepth} levels`)
    }
    // yaml throws a ReferenceError for alias bombs and for aliases to undefined anchors.
    const message = err instanceof Error ? err.message : String(err)
    if (/excessive alias count/i.test(message)) {
      throw invalid(field, 'uses YAML aliases that expand too much (possible "billion laughs" document)',
        'write the repeated content out instead of using anchors and aliases')
    }
    throw invalid(field, `is not valid YAML: ${message}`)
  }

  // Aliases can nest what the source did not; the source's own depth was bounded while parsing.
  if (depthExceeds(result, maxDepth)) {
    throw invalid(field, `nests mappings and lists deeper than ${maxDepth} levels`)
  }
  return result
}

/**
 * yaml's parseDocument, with the nesting bounded while the CST is built: yaml composes recursively, and a
 * 10 KB `[[[[...` overflows the stack in a way that can abort the whole process (V8 fails fatally when a
 * regular expression is compiled near the stack limit), so it must never reach the composer.
 */
function composeOne (text: string, lines: LineCounter, maxDepth: number): Document.Parsed | 'several' {
  const parser = new Parser(lines.addNewLine)
  // The parser's stack holds the document, the open collections and at most one scalar.
  const maxStack = maxDepth + 2
  function * tokens (): Generator<CST.Token> {
    lines.addNewLine(0)
    for (const lexeme of new Lexer().lex(text)) {
      yield * parser.next(lexeme)
      if (parser.stack.length > maxStack) throw new TooDeepError()
    }
    yield * parser.end()
  }
  let doc: Document.Parsed | undefined
  for (const next of new Composer(YAML_OPTIONS).compose(tokens(), true, text.length)) {
    if (doc !== undefined) return 'several'
    doc = next
  }
  // compose(..., forceDoc = true) always yields a document, if only an empty one.
  if (doc === undefined) throw new Error('yaml produced no document')
  return doc
}

function yamlProblem (field: string, e: YAMLError, lines: LineCounter): InputProblem {
  const { line, col } = lines.linePos(e.pos[0])
  const where = `at line ${line}, column ${col}`
  // yaml appends the position itself when prettyErrors is on; it is off, but do not repeat it either way.
  const what = e.message.split('\n', 1)[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? e.message
  if (e.code === 'TAG_RESOLVE_FAILED') {
    return { path: field, message: `uses an unsupported YAML tag ${where}: ${what.replace(/^Unresolved tag: /, '')}`, hint: 'descriptors may only hold plain data (mappings, lists, strings, numbers, booleans, null); remove the tag' }
  }
  if (e.code === 'DUPLICATE_KEY') {
    return { path: field, message: `has a duplicate key ${where}`, hint: 'each key may appear once per mapping; remove or rename the repeated one' }
  }
  return { path: field, message: `is not valid YAML ${where}: ${what}` }
}

function depthExceeds (value: unknown, remaining: number): boolean {
  if (value === null || typeof value !== 'object') return false
  if (remaining === 0) return true
  if (Array.isArray(value)) {
    for (const item of value) if (depthExceeds(item, remaining - 1)) return true
    return false
  }
  for (const key in value) {
    if (depthExceeds((value as Record<string, unknown>)[key], remaining - 1)) return true
  }
  return false
}

function invalid (path: string, message: string, hint?: string): DescriptorInvalidError {
  return new DescriptorInvalidError([hint === undefined ? { path, message } : { path, message, hint }])
}
