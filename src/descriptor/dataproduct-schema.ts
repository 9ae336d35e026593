/**
 * JSON Schemas of the data product and of a component (the platform contract's descriptor format), compiled once at load.
 * They hold only what every adapter of the platform can rely on; unknown fields are always tolerated and fields
 * real descriptors leave null (`informationSLA: null`, `fullyQualifiedName:`) accept null.
 * Requirements, decided from other adapters' inputs (test/fixtures/peer-shapes):
 * - data product: `id`, `domain`, `version` (X.Y.Z), `environment`, `components` (a list). `name`, `kind`
 *   and the owner/group refs are display or routing aids; `kind`, when given, must be `dataproduct`.
 * - every component: a mapping with an `id`; `dependsOn`, when given, a list of ids (ordering needs both).
 * - a component this adapter acts on: also `kind` (workload | outputport | storage | observability);
 *   `version`, when given, X.Y.Z. The ids are not required to be URNs (the scaffolds send `domain:marketing...`).
 * Specific sections are not checked here: each handler owns its schema.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { ValidateFunction } from 'ajv'
import type { InputProblem } from '../errors.js'
import { ajvErrorsToProblems, joinPath } from './ajv-problems.js'

export const COMPONENT_KINDS = ['workload', 'outputport', 'storage', 'observability'] as const

const SEMVER = '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?$'
const VERSION_HINT = 'use a semantic version X.Y.Z, e.g. 0.2.0'
const VERSION_MESSAGE = 'must be a version X.Y.Z'

const text = { type: ['string', 'null'] }
const nonEmptyString = { type: 'string', minLength: 1 }
const mapping = { type: ['object', 'null'] }
const list = { type: ['array', 'null'] }

/** What ordering and routing need from every component, including those other adapters own. */
export const componentRefSchema = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { ...nonEmptyString, 'x-hint': 'every component needs a unique id, e.g. urn:dmb:cmp:<domain>:<dp>:<major>:<name>' },
    dependsOn: { type: ['array', 'null'], items: nonEmptyString, 'x-hint': 'a list of ids of other components of this data product' },
    useCaseTemplateId: text,
    infrastructureTemplateId: text
  }
} as const

/** A component this adapter acts on. */
export const componentSchema = {
  type: 'object',
  required: ['id', 'kind'],
  properties: {
    ...componentRefSchema.properties,
    kind: { enum: COMPONENT_KINDS },
    name: text,
    description: text,
    fullyQualifiedName: text,
    version: { type: ['string', 'null'], pattern: SEMVER, 'x-message': VERSION_MESSAGE, 'x-hint': VERSION_HINT },
    platform: text,
    technology: text,
    tags: list,
    readsFrom: list,
    specific: mapping,
    info: mapping
  }
} as const

export const dataProductSchema = {
  type: 'object',
  required: ['id', 'domain', 'version', 'environment', 'components'],
  properties: {
    id: { ...nonEmptyString, 'x-hint': 'the data product id, e.g. urn:dmb:dp:<domain>:<name>:<majorVersion>' },
    name: text,
    description: text,
    fullyQualifiedName: text,
    kind: { const: 'dataproduct' },
    domain: { ...nonEmptyString, 'x-hint': 'the domain the data product belongs to, e.g. finance' },
    domainId: text,
    version: { type: 'string', pattern: SEMVER, 'x-message': VERSION_MESSAGE, 'x-hint': VERSION_HINT },
    environment: { ...nonEmptyString, 'x-hint': 'the environment being deployed, e.g. development or production' },
    dataProductOwner: text,
    dataProductOwnerDisplayName: text,
    ownerGroup: text,
    devGroup: text,
    email: text,
    tags: list,
    billing: mapping,
    specific: mapping,
    components: { type: 'array', items: componentRefSchema, 'x-hint': 'the list of the data product\'s components' }
  }
} as const

// Errors carry `parentSchema` (verbose) so problems can use `x-hint` / `x-message` (see ajv-problems.ts).
const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true })
addFormats.default(ajv)
const checkDataProduct: ValidateFunction = ajv.compile(dataProductSchema)
const checkComponent: ValidateFunction = ajv.compile(componentSchema)

const DP_URN = /^urn:dmb:dp:[^:]+:[^:]+:(\d+)$/

/** Problems of a data product's own fields and of its components' ids and dependsOn; `base` prefixes paths. */
export function dataProductProblems (dataProduct: unknown, base: string): InputProblem[] {
  const problems = checkDataProduct(dataProduct) ? [] : ajvErrorsToProblems(checkDataProduct.errors, base)
  if (dataProduct !== null && typeof dataProduct === 'object') {
    const { id, version } = dataProduct as Record<string, unknown>
    const urnMajor = typeof id === 'string' ? DP_URN.exec(id)?.[1] : undefined
    const versionMajor = typeof version === 'string' ? /^(\d+)\./.exec(version)?.[1] : undefined
    if (urnMajor !== undefined && versionMajor !== undefined && Number(urnMajor) !== Number(versionMajor)) {
      problems.push({
        path: joinPath(base, 'version'),
        message: `major version ${versionMajor} does not match the major ${urnMajor} in the data product id ${String(id)}`,
        hint: `a new major version is a new data product: use version ${urnMajor}.x.y, or id ${String(id).replace(/:\d+$/, ':' + versionMajor)}`
      })
    }
  }
  return problems
}

/** Problems of one component this adapter acts on; `path` is the component's own path. */
export function componentProblems (component: unknown, path: string): InputProblem[] {
  return checkComponent(component) ? [] : ajvErrorsToProblems(checkComponent.errors, path)
}
