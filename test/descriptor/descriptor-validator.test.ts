import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { validateDescriptor, specificValidator, type HandlerRouting, type ValidateOptions } from '../../src/descriptor/descriptor-validator.js'
import type { Component, ValidatedDescriptor } from '../../src/descriptor/types.js'
import type { Handler } from '../../src/provisioner/handler.js'
import { DescriptorInvalidError, type InputProblem } from '../../src/errors.js'

// A stand-in for a real handler: the validator only reads id, useCaseTemplateIds, specificSchema and checkSpecific.
function fakeHandler (id = 'fake', useCaseTemplateIds = ['urn:dmb:utm:fake-standard']): Handler {
  const unused = (): never => { throw new Error('not used by validation') }
  return {
    id,
    useCaseTemplateIds,
    specificSchema: {
      type: 'object',
      required: ['source'],
      properties: {
        source: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, password: { type: 'string' } } },
        destination: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
        connection: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
        mode: { enum: ['full', 'incremental'] },
        options: { type: 'object', additionalProperties: false, properties: { retries: { type: 'integer', minimum: 0 } } },
        bad: { type: 'boolean' },
        legacy: {}
      }
    },
    checkSpecific: (component: Component) => {
      const specific = component.specific ?? {}
      return {
        problems: specific.bad === true ? [{ path: 'bad', message: 'must not be true', hint: 'set it to false' }] : [],
        warnings: 'legacy' in specific ? ['legacy is ignored'] : []
      }
    },
    checkUpstream: unused,
    steps: unused,
    outcome: unused,
    reverseProvision: unused
  }
}

const fake = fakeHandler()

/** Routes on the useCaseTemplateId without its trailing version, as the real routing does. */
function routing (handlers: Handler[], fallback?: Handler): HandlerRouting {
  return {
    handlerFor: (useCaseTemplateId) => {
      const unversioned = useCaseTemplateId?.replace(/:[^:]*$/, '')
      return handlers.find((h) => h.useCaseTemplateIds.includes(unversioned ?? '')) ?? fallback
    },
    supportedIds: () => handlers.flatMap((h) => [...h.useCaseTemplateIds])
  }
}

const secrets: ValidateOptions['secrets'] = {
  lookup: (name, scope) => name === 'known-secret' && scope.domain === 'finance' ? { kind: 'found', value: 'known-secret-value' } : { kind: 'not-granted' }
}
const options = (extra: Partial<ValidateOptions> = {}): ValidateOptions => ({ routing: routing([fake]), secrets, maxBytes: 256 * 1024, ...extra })

function problemsOf (kind: unknown, descriptor: unknown, opts = options()): InputProblem[] {
  try {
    validateDescriptor(kind, descriptor, opts)
  } catch (err) {
    if (err instanceof DescriptorInvalidError) return err.problems
    throw err
  }
  throw new Error('expected the descriptor to be invalid')
}

const paths = (problems: InputProblem[]): string[] => problems.map((p) => p.path)

// ---- descriptors built in code -------------------------------------------------------------------------------

const CMP = 'urn:dmb:cmp:finance:cashflow:0:'
interface ComponentSpec { name: string, useCase?: string, dependsOn?: string[], specific?: unknown, kind?: string }
function component ({ name, useCase = 'urn:dmb:utm:fake-standard:0.0.0', dependsOn = [], specific = { source: { name: `${name}-source` } }, kind = 'workload' }: ComponentSpec): Record<string, unknown> {
  return { id: CMP + name, name, kind, version: '0.0.1', infrastructureTemplateId: 'urn:dmb:itm:provisioner:0', useCaseTemplateId: useCase, dependsOn: dependsOn.map((d) => CMP + d), specific }
}
function dataProduct (components: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'urn:dmb:dp:finance:cashflow:0',
    name: 'CashFlow',
    kind: 'dataproduct',
    domain: 'finance',
    version: '0.2.0',
    environment: 'development',
    dataProductOwner: 'user:jane.doe_company.com',
    devGroup: 'group:datameshplatform',
    informationSLA: null,
    specific: {},
    components,
    ...extra
  }
}
const asComponentDescriptor = (dp: Record<string, unknown>, id: string): string => JSON.stringify({ dataProduct: dp, componentIdToProvision: CMP + id })
const asDataProductDescriptor = (dp: Record<string, unknown>): string => JSON.stringify(dp)

// ---- descriptorKind and descriptor ---------------------------------------------------------------------------

t.test('DATAPRODUCT_DESCRIPTOR_WITH_RESULTS is refused as not used by specific provisioners', async (t) => {
  const [p] = problemsOf('DATAPRODUCT_DESCRIPTOR_WITH_RESULTS', asDataProductDescriptor(dataProduct([])))
  t.equal(p?.path, 'descriptorKind')
  t.match(p?.message, /not used by specific provisioners/)
  t.ok(p?.hint)
})

t.test('an unknown descriptorKind lists the allowed values', async (t) => {
  const [p] = problemsOf('COMPONENT', asDataProductDescriptor(dataProduct([])))
  t.equal(p?.path, 'descriptorKind')
  t.match(p?.message, /must be one of: DATAPRODUCT_DESCRIPTOR, COMPONENT_DESCRIPTOR/)
})

t.test('a missing descriptorKind and a missing descriptor are reported together', async (t) => {
  const problems = problemsOf(undefined, undefined)
  t.same(paths(problems), ['descriptorKind', 'descriptor'])
  t.match(problems[1]?.message, /is required/)
})

t.test('a descriptor that is not a non-empty string is refused', async (t) => {
  t.match(problemsOf('COMPONENT_DESCRIPTOR', { dataProduct: {} })[0], { path: 'descriptor', message: /must be a string/ })
  t.match(problemsOf('COMPONENT_DESCRIPTOR', '   \n')[0], { path: 'descriptor', message: /must not be empty/ })
})

t.test('a descriptor that parses to a scalar ("Hi", from the scaffolds\' postman samples) is refused', async (t) => {
  const [p] = problemsOf('DATAPRODUCT_DESCRIPTOR', 'Hi')
  t.equal(p?.path, 'descriptor')
  t.match(p?.message, /must be a YAML mapping, not the string "Hi"/)
})

t.test('YAML problems surface at descriptor', async (t) => {
  t.same(paths(problemsOf('COMPONENT_DESCRIPTOR', 'a: 1\na: 2\n')), ['descriptor'])
})

t.test('a descriptor over maxBytes is refused', async (t) => {
  const [p] = problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dataProduct([component({ name: 'a' })])), options({ maxBytes: 100 }))
  t.match(p, { path: 'descriptor', message: /larger than the 100 bytes/ })
})

// ---- COMPONENT_DESCRIPTOR ------------------------------------------------------------------------------------

t.test('a valid COMPONENT_DESCRIPTOR targets its one component', async (t) => {
  const dp = dataProduct([component({ name: 'ingest' }), component({ name: 'load', dependsOn: ['ingest'] }), component({ name: 'dbt', useCase: 'urn:dmb:utm:dbt-standard:0.0.0' })])
  const result = validateDescriptor('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'load'), options())
  t.equal(result.descriptorKind, 'COMPONENT_DESCRIPTOR')
  t.same(result.targets.map((x) => [x.component.id, x.handlerId]), [[CMP + 'load', 'fake']])
  t.same(result.levels, [[CMP + 'load']])
  t.same(result.skipped, [])
  t.same(result.warnings, [])
  t.equal(result.dataProduct.id, 'urn:dmb:dp:finance:cashflow:0')
  t.equal(result.dataProduct.components.length, 3)
})

t.test('a COMPONENT_DESCRIPTOR in YAML, as the platform sends it, with nulls where real samples have them', async (t) => {
  const yaml = [
    'dataProduct:',
    '  id: urn:dmb:dp:finance:cashflow:0',
    '  domain: finance',
    '  version: 0.2.0',
    '  environment: development',
    '  fullyQualifiedName: null',
    '  informationSLA:',
    '  devGroup: datameshplatform',
    '  components:',
    '    - id: urn:dmb:cmp:finance:cashflow:0:ingest',
    '      kind: workload',
    '      fullyQualifiedName:',
    '      useCaseTemplateId: urn:dmb:utm:fake-standard:0.0.0',
    '      dependsOn: [urn:dmb:cmp:finance:cashflow:0:not-in-the-list]',
    '      specific:',
    '        source: {name: orders, password: "${secret:known-secret}"}',
    'componentIdToProvision: urn:dmb:cmp:finance:cashflow:0:ingest'
  ].join('\n')
  const result = validateDescriptor('COMPONENT_DESCRIPTOR', yaml, options())
  t.equal(result.targets.length, 1, 'a dependsOn outside the list is not checked for one component')
})

t.test('componentIdToProvision missing, empty or unknown is reported with the ids present', async (t) => {
  const dp = dataProduct([component({ name: 'ingest' })])
  for (const cid of [undefined, '', null]) {
    const [p] = problemsOf('COMPONENT_DESCRIPTOR', JSON.stringify({ dataProduct: dp, componentIdToProvision: cid }))
    t.match(p, { path: 'componentIdToProvision', message: 'is required', hint: new RegExp(CMP + 'ingest') })
  }
  const [p] = problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'nope'))
  t.match(p, { path: 'componentIdToProvision', message: /names no component of the data product: .*nope/, hint: /components present: .*ingest/ })
})

t.test('a bare data product sent as COMPONENT_DESCRIPTOR is told to use DATAPRODUCT_DESCRIPTOR', async (t) => {
  const [p] = problemsOf('COMPONENT_DESCRIPTOR', asDataProductDescriptor(dataProduct([component({ name: 'a' })])))
  t.match(p, { path: 'dataProduct', message: 'is required', hint: /use descriptorKind DATAPRODUCT_DESCRIPTOR/ })
})

t.test('a component no handler claims is refused with the supported ids', async (t) => {
  const dp = dataProduct([component({ name: 'dbt', useCase: 'urn:dmb:utm:dbt-standard:0.0.0' })])
  const [p] = problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'dbt'))
  t.match(p, { path: 'dataProduct.components.0.useCaseTemplateId', message: /urn:dmb:utm:dbt-standard:0.0.0 is not handled/, hint: /urn:dmb:utm:fake-standard/ })
})

t.test('the handler is chosen whatever the useCaseTemplateId\'s version', async (t) => {
  const dp = dataProduct([component({ name: 'a', useCase: 'urn:dmb:utm:fake-standard:7.1.0' })])
  t.equal(validateDescriptor('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a'), options()).targets[0]?.handlerId, 'fake')
})

t.test('duplicate component ids are a problem even in a COMPONENT_DESCRIPTOR', async (t) => {
  const dp = dataProduct([component({ name: 'a' }), component({ name: 'a' })])
  t.ok(paths(problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a'))).includes('dataProduct.components.1.id'))
})

// ---- DATAPRODUCT_DESCRIPTOR ----------------------------------------------------------------------------------

t.test('a DATAPRODUCT_DESCRIPTOR targets every claimed component in dependency order and skips the rest', async (t) => {
  const logs: string[] = []
  const other = fakeHandler('other', ['urn:dmb:utm:other-load'])
  const dp = dataProduct([
    component({ name: 'catalog', useCase: 'urn:dmb:utm:other-load:0.0.0', dependsOn: ['load'], specific: { source: { name: 'x' } } }),
    component({ name: 'load', dependsOn: ['ingest', 'dbt'] }),
    component({ name: 'dbt', useCase: 'urn:dmb:utm:dbt-standard:0.0.0', dependsOn: ['ingest'], specific: { anything: true } }),
    component({ name: 'ingest' }),
    component({ name: 'ingest2' })
  ])
  const result = validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp), options({ routing: routing([fake, other]), log: (m) => logs.push(m) }))
  t.same(result.levels, [[CMP + 'ingest', CMP + 'ingest2'], [CMP + 'load'], [CMP + 'catalog']])
  t.same(result.targets.map((x) => x.component.id), [CMP + 'ingest', CMP + 'ingest2', CMP + 'load', CMP + 'catalog'])
  t.same(result.targets.map((x) => x.handlerId), ['fake', 'fake', 'fake', 'other'])
  t.same(result.skipped, [{ id: CMP + 'dbt', useCaseTemplateId: 'urn:dmb:utm:dbt-standard:0.0.0' }])
  t.same(logs, [`1 component belongs to other adapters; skipped: ${CMP}dbt (urn:dmb:utm:dbt-standard:0.0.0)`])
})

t.test('a data product with nothing for this adapter is valid, with a warning', async (t) => {
  const dp = dataProduct([component({ name: 'dbt', useCase: 'urn:dmb:utm:dbt-standard:0.0.0', specific: {} })])
  const result = validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp), options())
  t.same(result.targets, [])
  t.same(result.levels, [])
  t.equal(result.skipped.length, 1)
  t.match(result.warnings, [/no component of the data product is handled by this adapter.*urn:dmb:utm:fake-standard/])
  const empty = validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dataProduct([])), options())
  t.match(empty.warnings, [/no components; nothing to do/])
})

t.test('a COMPONENT_DESCRIPTOR sent as DATAPRODUCT_DESCRIPTOR is told to use COMPONENT_DESCRIPTOR', async (t) => {
  const problems = problemsOf('DATAPRODUCT_DESCRIPTOR', asComponentDescriptor(dataProduct([component({ name: 'a' })]), 'a'))
  t.equal(problems.length, 1, 'no noise about the fields a bare data product would have')
  t.match(problems[0], { path: 'descriptorKind', hint: /use descriptorKind COMPONENT_DESCRIPTOR/ })
})

t.test('dangling dependencies and cycles are problems of a DATAPRODUCT_DESCRIPTOR', async (t) => {
  const dp = dataProduct([
    component({ name: 'a', dependsOn: ['b'] }),
    component({ name: 'b', dependsOn: ['a'] }),
    component({ name: 'c', dependsOn: ['ghost'] })
  ])
  const problems = problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp))
  t.same(paths(problems).sort(), ['components.0.dependsOn.0', 'components.2.dependsOn.0'])
  t.match(problems.find((p) => p.path === 'components.0.dependsOn.0')?.message, /dependency cycle among .*:a, .*:b/)
})

t.test('a dependency on another adapter\'s component is fine', async (t) => {
  const dp = dataProduct([component({ name: 'dbt', useCase: 'urn:dmb:utm:dbt-standard:0.0.0' }), component({ name: 'a', dependsOn: ['dbt'] })])
  t.same(validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp), options()).levels, [[CMP + 'a']])
})

// ---- the data product's own fields ---------------------------------------------------------------------------

t.test('missing domain and version are both named', async (t) => {
  const dp = dataProduct([component({ name: 'a' })])
  delete dp.domain
  delete dp.version
  const problems = problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a'))
  t.same(paths(problems), ['dataProduct.domain', 'dataProduct.version'])
  t.same(problems.map((p) => p.message), ['is required', 'is required'])
  t.ok(problems.every((p) => p.hint !== undefined), 'each with a hint')
})

t.test('the version must be X.Y.Z with the URN\'s major', async (t) => {
  t.match(problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dataProduct([], { version: '1.2' })))[0], { path: 'version', message: 'must be a version X.Y.Z', hint: /e.g. 0.2.0/ })
  t.match(problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dataProduct([], { version: '1.2.0' })))[0], { path: 'version', message: /major version 1 does not match the major 0/ })
  t.ok(validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dataProduct([], { version: '0.3.0-rc.1' })), options()))
})

t.test('ids need not be URNs (the scaffolds use domain:marketing... ids), and then no major check applies', async (t) => {
  const dp = dataProduct([{ ...component({ name: 'a' }), id: 'domain:marketing.Marketing-Invoice-S3-Ingestion-Data-1.1' }], { id: 'domain:marketing.Marketing-Invoice-1.1', version: '1.0.0' })
  const result = validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp), options())
  t.same(result.levels, [['domain:marketing.Marketing-Invoice-S3-Ingestion-Data-1.1']])
})

t.test('unknown fields are tolerated everywhere', async (t) => {
  const dp = dataProduct([{ ...component({ name: 'a' }), somethingNew: { x: 1 }, info: { publicInfo: {}, privateInfo: {} } }], { maturity: 'Strategic', billing: {}, futureField: [1, 2] })
  t.equal(validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp), options()).targets.length, 1)
})

t.test('a component\'s kind must be one of the four', async (t) => {
  const dp = dataProduct([component({ name: 'a', kind: 'wrong' })])
  t.match(problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a'))[0], { path: 'dataProduct.components.0.kind', message: 'must be one of: workload, outputport, storage, observability' })
  const missing = dataProduct([component({ name: 'a' })])
  delete (missing.components as Array<Record<string, unknown>>)[0]?.kind
  t.match(problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(missing, 'a'))[0], { path: 'dataProduct.components.0.kind', message: 'is required' })
})

// ---- specific ------------------------------------------------------------------------------------------------

t.test('specific is checked against the handler\'s schema, with readable messages and paths', async (t) => {
  const dp = dataProduct([component({ name: 'a', specific: { source: {}, mode: 'sometimes', options: { retires: 3, retries: -1 }, destination: 'x' } })])
  const problems = problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a'))
  const base = 'dataProduct.components.0.specific'
  t.match(problems, [
    { path: `${base}.source.name`, message: 'is required' },
    { path: `${base}.destination`, message: 'must be a mapping' },
    { path: `${base}.mode`, message: 'must be one of: full, incremental' },
    { path: `${base}.options.retires`, message: 'is not a known field', hint: /known fields: retries/ },
    { path: `${base}.options.retries`, message: 'must be >= 0' }
  ])
  t.equal(problems.length, 5)
})

t.test('the same paths are relative to the data product in a DATAPRODUCT_DESCRIPTOR', async (t) => {
  const dp = dataProduct([component({ name: 'a' }), component({ name: 'b', specific: { source: { name: '' } } })])
  t.match(problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp)), [{ path: 'components.1.specific.source.name', message: 'must not be empty' }])
})

t.test('a missing specific is required, naming what the handler needs', async (t) => {
  const dp = dataProduct([component({ name: 'a', specific: null })])
  t.match(problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a')), [{ path: 'dataProduct.components.0.specific', message: 'is required', hint: /fake handler.*source/ }])
})

t.test('checkSpecific runs after the schema passed; its problems are prefixed and its warnings kept', async (t) => {
  const bad = dataProduct([component({ name: 'a', specific: { source: { name: 'x' }, bad: true } })])
  t.match(problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(bad, 'a')), [{ path: 'dataProduct.components.0.specific.bad', message: 'must not be true', hint: 'set it to false' }])
  const legacy = dataProduct([component({ name: 'a', specific: { source: { name: 'x' }, legacy: 'whatever' } })])
  const result = validateDescriptor('COMPONENT_DESCRIPTOR', asComponentDescriptor(legacy, 'a'), options())
  t.same(result.warnings, [`component ${CMP}a: legacy is ignored`])
})

t.test('checkSpecific does not run on a specific that fails the schema', async (t) => {
  const dp = dataProduct([component({ name: 'a', specific: { bad: true } })])
  t.same(paths(problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a'))), ['dataProduct.components.0.specific.source'])
})

t.test('checkSpecific gets the data product and a secret check', async (t) => {
  const seen: unknown[] = []
  const spy = { ...fakeHandler(), checkSpecific: (c: Component, ctx: { dataProduct: unknown, hasSecret: (n: string) => boolean }) => { seen.push(ctx.dataProduct, ctx.hasSecret('known-secret'), ctx.hasSecret('other')); return { problems: [], warnings: [] } } }
  validateDescriptor('COMPONENT_DESCRIPTOR', asComponentDescriptor(dataProduct([component({ name: 'a' })]), 'a'), options({ routing: routing([spy]) }))
  t.match(seen, [{ id: 'urn:dmb:dp:finance:cashflow:0' }, true, false])
})

t.test('a secret reference outside the data product\'s grant is a problem naming the secret, the data product and where to grant it', async (t) => {
  const dp = dataProduct([component({ name: 'a', specific: { source: { name: 'x', password: '${secret:db-password}', list: ['${secret:known-secret}', '${secret:other.key}'] } } })])
  const problems = problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a'))
  t.match(problems, [
    {
      path: 'dataProduct.components.0.specific.source.password',
      message: 'secret "db-password" is not granted to data product urn:dmb:dp:finance:cashflow:0 (domain finance)',
      hint: /DESCRIPTOR_SECRETS_DIR\/finance\/cashflow\/db-password.*DESCRIPTOR_SECRET_FINANCE__CASHFLOW__DB_PASSWORD.*DESCRIPTOR_SECRETS_DIR\/finance\/db-password.*DESCRIPTOR_SECRET_FINANCE__DB_PASSWORD/
    },
    { path: 'dataProduct.components.0.specific.source.list.1', message: 'secret "other.key" is not granted to data product urn:dmb:dp:finance:cashflow:0 (domain finance)', hint: /DESCRIPTOR_SECRET_FINANCE__OTHER_KEY/ }
  ])
  t.equal(problems.length, 2)
})

t.test('secret references of components this adapter does not act on are not checked', async (t) => {
  const dp = dataProduct([component({ name: 'a' }), component({ name: 'dbt', useCase: 'urn:dmb:utm:dbt-standard:0.0.0', specific: { p: '${secret:nope}' } })])
  t.equal(validateDescriptor('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp), options()).targets.length, 1)
})

t.test('a secret reference inside a longer string is refused', async (t) => {
  const dp = dataProduct([component({ name: 'a', specific: { source: { name: 'x', url: 'jdbc://u:${secret:known-secret}@h' } } })])
  t.match(problemsOf('COMPONENT_DESCRIPTOR', asComponentDescriptor(dp, 'a')), [{ path: 'dataProduct.components.0.specific.source.url', message: /embeds a secret reference/ }])
})

t.test('__proto__ and constructor keys in a descriptor stay data', async (t) => {
  const yaml = `dataProduct:
  id: urn:dmb:dp:finance:cashflow:0
  domain: finance
  version: 0.2.0
  environment: development
  __proto__: {polluted: yes}
  components:
    - id: ${CMP}a
      kind: workload
      useCaseTemplateId: urn:dmb:utm:fake-standard:0.0.0
      constructor: {prototype: {polluted: yes}}
      specific:
        source: {name: x}
        __proto__: {bad: true}
componentIdToProvision: ${CMP}a
`
  const result = validateDescriptor('COMPONENT_DESCRIPTOR', yaml, options())
  t.equal(result.targets.length, 1, 'the own __proto__ key does not make specific.bad true')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.equal(({} as Record<string, unknown>).bad, undefined)
})

// ---- collection of problems ----------------------------------------------------------------------------------

t.test('all problems are reported at once, deduplicated', async (t) => {
  const dp = dataProduct([component({ name: 'a', kind: 'table', specific: { source: {}, mode: 'x' } })], { environment: null })
  delete dp.id
  const problems = problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dp))
  t.same(paths(problems), ['id', 'environment', 'components.0.kind', 'components.0.specific.source.name', 'components.0.specific.mode'])
  t.equal(new Set(problems.map((p) => `${p.path} ${p.message}`)).size, problems.length)
})

t.test('problems are capped at maxProblems, the last saying how many more', async (t) => {
  const many = Array.from({ length: 30 }, (_, i) => component({ name: `c${i}`, specific: { source: {} } }))
  const problems = problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dataProduct(many)), options({ maxProblems: 10 }))
  t.equal(problems.length, 10)
  t.match(problems[9]?.message, /is required \(\.\.\. and 20 more problems\)$/)
  t.equal(problemsOf('DATAPRODUCT_DESCRIPTOR', asDataProductDescriptor(dataProduct(many))).length, 30, 'default cap is 50')
})

t.test('the error message summarises the first problem', async (t) => {
  try {
    validateDescriptor('COMPONENT_DESCRIPTOR', asComponentDescriptor(dataProduct([component({ name: 'a', kind: 'x' })]), 'a'), options())
    t.fail('expected an error')
  } catch (err) {
    t.type(err, DescriptorInvalidError)
    t.equal((err as DescriptorInvalidError).code, 'PRV_ERR_DESCRIPTOR_INVALID')
    t.match((err as Error).message, /^dataProduct\.components\.0\.kind: must be one of/)
  }
})

t.test('a handler\'s schema is compiled once and kept with the handler', async (t) => {
  const h = fakeHandler('once', ['urn:dmb:utm:once'])
  t.equal(specificValidator(h), specificValidator(h))
  t.not(specificValidator(h), specificValidator(fakeHandler('twice', ['urn:dmb:utm:once'])))
})

t.test('a handler schema Ajv cannot compile fails loudly, naming the handler', async (t) => {
  const broken = { ...fakeHandler('broken'), specificSchema: { type: 'object', properties: { a: { $ref: '#/nowhere' } } } }
  t.throws(() => specificValidator(broken), /handler broken: its specificSchema does not compile/)
})

t.test('handler schemas with the same $id do not collide', async (t) => {
  const schema = (): Record<string, unknown> => ({ $id: 'https://example.com/specific.json', type: 'object' })
  t.doesNotThrow(() => { specificValidator({ ...fakeHandler('x'), specificSchema: schema() }); specificValidator({ ...fakeHandler('y'), specificSchema: schema() }) })
})

// ---- the corpus of broken descriptors ------------------------------------------------------------------------

t.test('every descriptor of the bad corpus is refused at the expected paths', async (t) => {
  const dir = new URL('../fixtures/descriptors/bad/', import.meta.url)
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
  t.ok(files.length >= 15, `${files.length} broken descriptors`)
  for (const file of files) {
    const text = readFileSync(new URL(file, dir), 'utf8')
    const expect = /^# expect: (\S+)((?: \S+)+)\n/.exec(text)
    if (expect === null) { t.fail(`${file} has no "# expect:" line`); continue }
    const kind = expect[1] as string
    const expected = (expect[2] as string).trim().split(' ')
    let problems: InputProblem[] = []
    try {
      validateDescriptor(kind, text, options())
      t.fail(`${file} was accepted`)
      continue
    } catch (err) {
      if (!(err instanceof DescriptorInvalidError)) { t.fail(`${file} threw ${String(err)}`); continue }
      problems = err.problems
    }
    const reported = paths(problems)
    for (const path of expected) t.ok(reported.includes(path), `${file}: ${path} reported (got ${reported.join(', ')})`)
    t.ok(problems.every((p) => p.message.length > 0 && !p.message.includes('\n')), `${file}: one-line messages`)
  }
})

// ---- inputs shaped like other adapters' (test/fixtures/peer-shapes/README.md) ---------------------------------

const PEERS = new URL('../fixtures/peer-shapes/', import.meta.url)
const peer = (path: string): string => readFileSync(new URL(path, PEERS), 'utf8')
// The original Airbyte provisioner claimed every component it was sent: mimic DEFAULT_HANDLER=airbyte.
const claimEverything = (): ValidateOptions => options({ routing: routing([fake], fake) })

function outcome (kind: string, descriptor: string, opts: ValidateOptions): ValidatedDescriptor | InputProblem[] {
  try {
    return validateDescriptor(kind, descriptor, opts)
  } catch (err) {
    if (err instanceof DescriptorInvalidError) return err.problems
    throw err
  }
}

t.test('the original Airbyte provisioner\'s valid descriptor is valid (null informationSLA, bare devGroup)', async (t) => {
  const result = validateDescriptor('COMPONENT_DESCRIPTOR', peer('airbyte-provisioner/component-valid.yaml'), claimEverything())
  t.same(result.targets.map((x) => x.component.id), ['urn:dmb:cmp:logistics:shipments:0:parcel-scans-loader'])
  t.equal(result.dataProduct.devGroup, 'logisticsplatform')
  t.equal(result.dataProduct.informationSLA, null)
})

t.test('the legacy dbtGitUrl variants are valid for a handler that tolerates the legacy field', async (t) => {
  for (const file of ['component-legacy-dbt-url.yaml', 'component-legacy-dbt-url-empty.yaml']) {
    t.equal(validateDescriptor('COMPONENT_DESCRIPTOR', peer(`airbyte-provisioner/${file}`), claimEverything()).targets.length, 1, file)
  }
})

t.test('each broken original Airbyte provisioner descriptor is invalid at a sensible path', async (t) => {
  const expected: Record<string, string[]> = {
    'component-empty-specific.yaml': ['dataProduct.components.0.specific.source'],
    'component-missing-component-id.yaml': ['componentIdToProvision'],
    'component-missing-components.yaml': ['dataProduct.components', 'componentIdToProvision'],
    'component-missing-connection-name.yaml': ['dataProduct.components.0.specific.connection'],
    'component-missing-destination.yaml': ['dataProduct.components.0.specific.destination.name'],
    'component-missing-expected-fields.yaml': ['dataProduct.domain', 'dataProduct.version'],
    'component-missing-source.yaml': ['dataProduct.components.0.specific.source.name'],
    'component-missing-specific.yaml': ['dataProduct.components.0.specific']
  }
  const files = readdirSync(new URL('airbyte-provisioner/', PEERS)).filter((f) => f !== 'component-valid.yaml' && !f.includes('legacy-dbt'))
  t.same(files.sort(), Object.keys(expected).sort(), 'every broken sample has an expectation')
  for (const file of files) {
    const result = outcome('COMPONENT_DESCRIPTOR', peer(`airbyte-provisioner/${file}`), claimEverything())
    if (!Array.isArray(result)) { t.fail(`${file} was accepted`); continue }
    t.same(paths(result), expected[file], file)
  }
})

t.test('without a default handler, the original Airbyte provisioner\'s descriptor (a non-Airbyte useCaseTemplateId) is refused, naming the supported ids', async (t) => {
  const result = outcome('COMPONENT_DESCRIPTOR', peer('airbyte-provisioner/component-valid.yaml'), options())
  t.match(result, [{ path: 'dataProduct.components.0.useCaseTemplateId', hint: /urn:dmb:utm:fake-standard/ }])
})

t.test('tech adapter framework and python scaffold shapes are refused clearly or valid with nothing to do', async (t) => {
  const samples: Array<[string, string]> = [
    ...readdirSync(new URL('tech-adapter-framework/', PEERS)).map((f): [string, string] => [`tech-adapter-framework/${f}`, 'COMPONENT_DESCRIPTOR']),
    ['python-scaffold/data-product.yaml', 'DATAPRODUCT_DESCRIPTOR'],
    ['python-scaffold/component-output-port.yaml', 'COMPONENT_DESCRIPTOR'],
    ['python-scaffold/component-storage.yaml', 'COMPONENT_DESCRIPTOR']
  ]
  for (const [file, kind] of samples) {
    for (const asKind of [kind, 'COMPONENT_DESCRIPTOR', 'DATAPRODUCT_DESCRIPTOR']) {
      const result = outcome(asKind, peer(file), options())
      if (Array.isArray(result)) {
        t.ok(result.length > 0 && result.every((p) => typeof p.path === 'string' && p.message !== ''), `${file} as ${asKind}: refused (${paths(result).join(', ')})`)
      } else {
        t.equal(result.targets.length, 0, `${file} as ${asKind}: valid, nothing for this adapter`)
      }
    }
  }
})

t.test('the broken tech adapter framework descriptors are refused at the broken field', async (t) => {
  const expected: Record<string, string> = {
    'descriptor-storage-no-components.yaml': 'componentIdToProvision',
    'descriptor-storage-no-component-id-to-provision.yaml': 'componentIdToProvision',
    'descriptor-storage-no-kind.yaml': 'dataProduct.components.0.kind',
    'descriptor-storage-wrong-kind.yaml': 'dataProduct.components.0.kind'
  }
  for (const [file, path] of Object.entries(expected)) {
    const result = outcome('COMPONENT_DESCRIPTOR', peer(`tech-adapter-framework/${file}`), claimEverything())
    t.ok(Array.isArray(result) && paths(result).includes(path), `${file}: ${path}`)
  }
})

t.test('the python scaffold data product is ordered when every component is claimed', async (t) => {
  const permissive = { ...fakeHandler('any', []), specificSchema: { type: 'object' } }
  const result = validateDescriptor('DATAPRODUCT_DESCRIPTOR', peer('python-scaffold/data-product.yaml'), options({ routing: routing([], permissive) }))
  t.same(result.levels, [['urn:dmb:cmp:energy:meter-readings:0:postgres-storage'], ['urn:dmb:cmp:energy:meter-readings:0:postgres-output-port']])
})

t.test('the postman collections\' request bodies are refused clearly or valid, never a crash', async (t) => {
  for (const file of ['postman/grouped.postman_collection.json', 'postman/flat.postman_collection.json']) {
    const bodies: Array<Record<string, unknown>> = []
    const walk = (items: unknown[]): void => {
      for (const item of items as Array<Record<string, unknown>>) {
        if (Array.isArray(item.item)) walk(item.item)
        const raw = (item.request as { body?: { raw?: string } } | undefined)?.body?.raw
        if (raw !== undefined && raw.trim() !== '') bodies.push(JSON.parse(raw) as Record<string, unknown>)
      }
    }
    walk((JSON.parse(peer(file)) as { item: unknown[] }).item)
    const requests = bodies.flatMap((b) => {
      if ('descriptor' in b) return [[b.descriptorKind, b.descriptor]]
      const info = b.provisionInfo as { request?: unknown } | undefined
      return info?.request !== undefined ? [['COMPONENT_DESCRIPTOR', info.request]] : []
    })
    t.ok(requests.length > 0, `${file} has descriptors`)
    for (const [kind, descriptor] of requests) {
      for (const routes of [options(), claimEverything()]) {
        const result = outcome(String(kind), String(descriptor), routes)
        t.ok(Array.isArray(result) || result.targets.length >= 0, `${file}: ${String(kind)} handled`)
      }
    }
    // The scaffolds send a COMPONENT_DESCRIPTOR's wrapper as DATAPRODUCT_DESCRIPTOR, and "Hi".
    const wrapped = requests.find(([k, d]) => k === 'DATAPRODUCT_DESCRIPTOR' && String(d).startsWith('dataProduct:'))
    t.match(outcome('DATAPRODUCT_DESCRIPTOR', String(wrapped?.[1]), options()), [{ path: 'descriptorKind', hint: /COMPONENT_DESCRIPTOR/ }])
    t.match(outcome('DATAPRODUCT_DESCRIPTOR', 'Hi', options()), [{ path: 'descriptor' }])
  }
})
