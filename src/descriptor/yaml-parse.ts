/**
 * Parses untrusted YAML (descriptors arrive in request bodies) into plain data, refusing anything that could
 * cost more than its size or smuggle behaviour in: oversized input, alias bombs, custom tags, duplicate keys,
 * several documents, absurd nesting, too many nodes or keys (descriptor-limits.ts). Every step is linear in the
 * input: yaml only lexes and composes; keys and aliases are checked by our own walk (yaml-plain-data.ts). Plain
 * block YAML, most descriptors, is read by a one-pass fast path first (yaml-block-fast-path.ts). It
 * knows nothing about descriptors: whether the result is the right shape is the validator's job.
 */
import { Composer, Lexer, LineCounter, Parser, type CST, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type YAMLError } from 'yaml'
import { DescriptorInvalidError, type InputProblem } from '../errors.js'
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS_PER_MAPPING, DEFAULT_MAX_NODES, DescriptorLimitError, LIMIT_VARIABLES } from './descriptor-limits.js'
import { linePosition, scanJson, tryParseJson } from './json-fast-path.js'
import { tryParseBlockYaml } from './yaml-block-fast-path.js'
import { PlainDataError, toPlainData, type PlainDataProblem } from './yaml-plain-data.js'

export interface ParseYamlOptions {
  /** Refuse input larger than this many UTF-8 bytes, before parsing. */
  maxBytes: number
  /** Dot path the input came from (`descriptor`, `provisionInfo.request`), used as every problem's path. */
  field: string
  /** Nodes per document, each alias counted as the nodes it repeats (MAX_DESCRIPTOR_NODES). Default 200000. */
  maxNodes?: number
  /** Keys in any one mapping (MAX_KEYS_PER_MAPPING). Default 10000. */
  maxKeysPerMapping?: number
  /** Deepest nesting of mappings and lists accepted, aliases included. Default 64. */
  maxDepth?: number
  /** Read plain block YAML through yaml-block-fast-path.ts first. Default true; false for comparisons. */
  blockFastPath?: boolean
}

// `core` is YAML 1.2's JSON-compatible schema: no merge keys, `yes` stays a string and a date stays text.
// yaml would still resolve an explicit !!binary, !!set or !!timestamp (into a Uint8Array, a Set, a Date) unless
// `resolveKnownTags` is off; with it off they are unresolved tags, refused below.
const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  schema: 'core',
  customTags: [],
  resolveKnownTags: false,
  merge: false,
  // yaml's check compares each key with every earlier one (quadratic); toPlainData keeps a Set per mapping.
  uniqueKeys: false,
  strict: true,
  // Positions come from our own LineCounter; yaml's pretty errors would quote the source back.
  prettyErrors: false,
  // yaml warns on the console about collection keys; a hostile request must not be able to write to our logs.
  logLevel: 'error'
}

const MAX_YAML_PROBLEMS = 5
const DEPTH_HINT = 'flatten the structure: descriptors need only a few levels'
const SPLIT_HINT = 'split the data product into smaller ones, or move bulky content out of the descriptor'

class TooDeepError extends Error {}

export function parseYamlSafely (text: string, options: ParseYamlOptions): unknown {
  // `??`, not a spread: a caller passing `maxNodes: undefined` gets the default, not no limit.
  const opts = { ...options, maxNodes: options.maxNodes ?? DEFAULT_MAX_NODES, maxKeysPerMapping: options.maxKeysPerMapping ?? DEFAULT_MAX_KEYS_PER_MAPPING }
  const { field } = opts
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH
  if (typeof text !== 'string') throw invalid(field, 'must be a YAML (or JSON) string')
  // Every UTF-16 unit is at least one UTF-8 byte, so a long string is over the limit without counting.
  if (text.length > opts.maxBytes || (text.length * 3 > opts.maxBytes && Buffer.byteLength(text, 'utf8') > opts.maxBytes)) {
    throw new DescriptorLimitError([{ path: field, message: `is larger than the ${opts.maxBytes} bytes accepted (${LIMIT_VARIABLES.maxBytes})`, hint: SPLIT_HINT }])
  }

  const json = tryParseJson(text)
  if (json !== undefined) {
    const problem = scanJson(text, { maxDepth, maxNodes: opts.maxNodes, maxKeysPerMapping: opts.maxKeysPerMapping })
    if (problem === undefined) return json.value
    const { line, col } = linePosition(text, problem.offset)
    throw plainDataInvalid(field, problem, `at line ${line}, column ${col}`, opts, maxDepth)
  }

  if (options.blockFastPath !== false) {
    const block = tryParseBlockYaml(text, { maxDepth, maxNodes: opts.maxNodes, maxKeysPerMapping: opts.maxKeysPerMapping })
    if (block !== undefined) return block.value
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
    result = toPlainData(doc, { maxNodes: opts.maxNodes, maxKeysPerMapping: opts.maxKeysPerMapping, maxDepth })
  } catch (err) {
    if (err instanceof DescriptorInvalidError) throw err
    if (err instanceof PlainDataError) {
      const { line, col } = lines.linePos(err.problem.offset)
      throw plainDataInvalid(field, err.problem, `at line ${line}, column ${col}`, opts, maxDepth)
    }
    if (err instanceof TooDeepError || err instanceof RangeError) {
      throw limit(field, `nests mappings and lists deeper than ${maxDepth} levels`, DEPTH_HINT)
    }
    const message = err instanceof Error ? err.message : String(err)
    throw invalid(field, `is not valid YAML: ${message}`)
  }
  return result
}

/** The refusal for a problem found while converting (YAML) or scanning (JSON); `where` is `at line L, column C`. */
function plainDataInvalid (field: string, problem: PlainDataProblem | { kind: 'too-deep', offset: number }, where: string,
  opts: Required<Pick<ParseYamlOptions, 'maxNodes' | 'maxKeysPerMapping'>>, maxDepth: number): DescriptorInvalidError {
  switch (problem.kind) {
    case 'duplicate-key':
      return invalid(field, `has a duplicate key ${quoted(problem.key)} ${where}`,
        'each key may appear once per mapping; remove or rename the repeated one')
    case 'too-many-keys':
      return limit(field, `has a mapping with more than the ${opts.maxKeysPerMapping} keys allowed (${LIMIT_VARIABLES.maxKeysPerMapping}) ${where}`, SPLIT_HINT)
    case 'too-many-nodes':
      return problem.viaAlias
        ? limit(field, `uses YAML aliases that expand too much (possible "billion laughs" document): past the ${opts.maxNodes} nodes allowed (${LIMIT_VARIABLES.maxNodes}) ${where}`,
          'write the repeated content out instead of using anchors and aliases')
        : limit(field, `has more than the ${opts.maxNodes} nodes (mappings, lists and values) allowed (${LIMIT_VARIABLES.maxNodes}), reached ${where}`, SPLIT_HINT)
    case 'too-deep':
      return limit(field, `nests mappings and lists deeper than ${maxDepth} levels`, DEPTH_HINT)
    case 'unknown-anchor':
      return invalid(field, `is not valid YAML ${where}: alias *${short(problem.anchor)} names no anchor defined before it`)
    case 'recursive-alias':
      return invalid(field, `is not valid YAML ${where}: alias *${short(problem.anchor)} refers to a node that contains it`)
    case 'collection-key':
      return invalid(field, `uses a mapping or list as a key ${where}`, 'keys must be strings (or numbers, booleans)')
  }
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

/** A name from the input, quoted and cut short: a 1 MB key must not make a 1 MB error reply. */
function quoted (name: string): string {
  return JSON.stringify(short(name))
}

function short (name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}...` : name
}

function limit (path: string, message: string, hint: string): DescriptorLimitError {
  return new DescriptorLimitError([{ path, message, hint }])
}

function invalid (path: string, message: string, hint?: string): DescriptorInvalidError {
  return new DescriptorInvalidError([hint === undefined ? { path, message } : { path, message, hint }])
}
