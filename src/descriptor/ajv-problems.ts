/**
 * Turns Ajv's errors into InputProblems a data product owner can act on: dot paths that point at the field to
 * fix (the missing property, the extra key), messages in words rather than schema keywords. It does not validate.
 *
 * With Ajv's `verbose` option (errors then carry their schema), a schema may carry two annotations Ajv ignores:
 * `x-hint`, how to fix a value (the problem's hint, also used when the property is missing), and `x-message`,
 * what a valid value is, replacing the generic message of any failed keyword of that schema (a pattern's
 * regular expression is no help to a data product owner).
 */
import type { ErrorObject } from 'ajv'
import type { InputProblem } from '../errors.js'

/** `/a/b~1c/0` (JSON pointer) -> `a.b/c.0` */
export function pointerToDotPath (pointer: string): string {
  if (pointer === '') return ''
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).join('.')
}

export function joinPath (base: string, rest: string): string {
  if (base === '') return rest
  if (rest === '') return base
  return `${base}.${rest}`
}

export function ajvErrorsToProblems (errors: readonly ErrorObject[] | null | undefined, basePath: string): InputProblem[] {
  if (errors == null) return []
  const problems: InputProblem[] = []
  for (const error of errors) {
    const problem = ajvErrorToProblem(error, basePath)
    if (problem !== undefined) problems.push(problem)
  }
  return problems
}

function ajvErrorToProblem (error: ErrorObject, basePath: string): InputProblem | undefined {
  const at = joinPath(basePath, pointerToDotPath(error.instancePath))
  const params = error.params as Record<string, unknown>
  const parent = error.parentSchema as Record<string, unknown> | undefined
  const schemaHint = typeof parent?.['x-hint'] === 'string' ? parent['x-hint'] : undefined
  const schemaMessage = typeof parent?.['x-message'] === 'string' ? parent['x-message'] : undefined
  const make = (path: string, message: string, hint = schemaHint): InputProblem => {
    const text = schemaMessage ?? message
    return hint === undefined ? { path, message: text } : { path, message: text, hint }
  }

  switch (error.keyword) {
    // These name a property of the object whose schema failed: that schema's x-message is not about them.
    case 'required': {
      const missing = String(params.missingProperty)
      const properties = parent?.properties as Record<string, Record<string, unknown> | undefined> | undefined
      const own = properties?.[missing]
      const ownHint = typeof own?.['x-hint'] === 'string'
        ? own['x-hint']
        : typeof own?.description === 'string' ? `expected: ${own.description}` : undefined
      return problem(joinPath(at, missing), 'is required', ownHint)
    }
    case 'dependentRequired':
    case 'dependencies':
      return problem(joinPath(at, String(params.missingProperty)), `is required when ${String(params.property)} is present`, schemaHint)
    case 'additionalProperties':
      return problem(joinPath(at, String(params.additionalProperty)), 'is not a known field', schemaHint ?? knownFieldsHint(parent))
    case 'unevaluatedProperties':
      return problem(joinPath(at, String(params.unevaluatedProperty)), 'is not a known field', schemaHint ?? knownFieldsHint(parent))
    case 'type':
      return make(at, `must be ${describeTypes(params.type)}`)
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : []
      return make(at, `must be one of: ${allowed.map(show).join(', ')}`)
    }
    case 'const':
      return make(at, `must be ${show(params.allowedValue)}`)
    case 'pattern':
      return make(at, `does not have the expected format (pattern ${String(params.pattern)})`)
    case 'format':
      return make(at, `must be a valid ${String(params.format)}`)
    case 'minLength':
      return make(at, Number(params.limit) === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`)
    case 'maxLength':
      return make(at, `must be at most ${String(params.limit)} characters long`)
    case 'minItems':
      return make(at, Number(params.limit) === 1 ? 'must list at least one item' : `must list at least ${String(params.limit)} items`)
    case 'maxItems':
      return make(at, `must list at most ${String(params.limit)} items`)
    case 'uniqueItems':
      return make(at, `must not repeat items (items ${String(params.j)} and ${String(params.i)} are equal)`)
    case 'minProperties':
      return make(at, `must have at least ${String(params.limit)} field${Number(params.limit) === 1 ? '' : 's'}`)
    case 'maxProperties':
      return make(at, `must have at most ${String(params.limit)} fields`)
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return make(at, `must be ${String(params.comparison)} ${String(params.limit)}`)
    case 'multipleOf':
      return make(at, `must be a multiple of ${String(params.multipleOf)}`)
    case 'oneOf':
      return make(at, Array.isArray(params.passingSchemas)
        ? 'matches more than one of the allowed forms; use exactly one'
        : 'does not match any of the allowed forms')
    case 'anyOf':
      return make(at, 'does not match any of the allowed forms')
    case 'not':
      return make(at, 'has a form that is not allowed here')
    case 'false schema':
      return make(at, 'is not allowed here')
    // `if` only says "must match then schema"; the `then` errors that follow it say what is actually wrong.
    case 'if':
      return undefined
    default:
      return make(at, error.message ?? `fails the ${error.keyword} rule`)
  }
}

function problem (path: string, message: string, hint: string | undefined): InputProblem {
  return hint === undefined ? { path, message } : { path, message, hint }
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null'
}

function describeTypes (type: unknown): string {
  const types = Array.isArray(type) ? type.map(String) : String(type).split(',')
  const words = types.map((t) => TYPE_WORDS[t] ?? t)
  return words.length <= 1 ? (words[0] ?? 'of another type') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1] ?? ''}`
}

function knownFieldsHint (parent: Record<string, unknown> | undefined): string | undefined {
  const properties = parent?.properties
  if (properties === null || typeof properties !== 'object') return undefined
  const names = Object.keys(properties)
  return names.length === 0 ? 'remove it' : `remove it or check its spelling; known fields: ${names.join(', ')}`
}

function show (value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}
