/**
 * Entry point of descriptor validation: from a request's `descriptorKind` and `descriptor` string to the list of
 * components this adapter will act on, in dependency order, or a DescriptorInvalidError listing every problem
 * at once. Pure and synchronous: it never calls a target system (that is `checkUpstream`, in the worker) and
 * never resolves a secret, it only checks that each reference could be resolved.
 */
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { ValidateFunction } from 'ajv'
import { DescriptorInvalidError, type InputProblem } from '../errors.js'
import type { Handler } from '../provisioner/handler.js'
import { secretScopeOf, type SecretScope } from '../secrets/secret-scope.js'
import { SECRET_REF, secretRefProblem, type SecretStore } from '../secrets/secret-store.js'
import { ajvErrorsToProblems, joinPath } from './ajv-problems.js'
import { componentProblems, dataProductProblems } from './dataproduct-schema.js'
import { orderByDependencies, type DependencyNode } from './dependency-order.js'
import type { Component, ComponentTarget, DataProduct, ValidatedDescriptor } from './types.js'
import { parseYamlSafely } from './yaml-parse.js'

/** Chooses the handler of a component by its useCaseTemplateId (implemented with the configuration). */
export interface HandlerRouting {
  handlerFor: (useCaseTemplateId: string | undefined) => Handler | undefined
  /** The useCaseTemplateIds (without version) some handler claims, for error messages. */
  supportedIds: () => string[]
}

export interface ValidateOptions {
  routing: HandlerRouting
  /** References resolve only within the data product's grants (secret-scope.ts). */
  secrets: Pick<SecretStore, 'lookup'>
  /** Applied to every problem before it is thrown (masks known secret values). Default: identity. */
  scrub?: (text: string) => string
  /** Largest descriptor accepted, in UTF-8 bytes. */
  maxBytes: number
  /** Nodes per document (MAX_DESCRIPTOR_NODES). Default 200000. */
  maxNodes?: number
  /** Keys per mapping (MAX_KEYS_PER_MAPPING). Default 10000. */
  maxKeysPerMapping?: number
  /** Most problems reported in one error; the last one says how many more there were. Default 50. */
  maxProblems?: number
  /** Receives one line summing up the components skipped because other adapters own them. Default: discarded. */
  log?: (msg: string) => void
}

const USABLE_KINDS = ['DATAPRODUCT_DESCRIPTOR', 'COMPONENT_DESCRIPTOR'] as const
type UsableKind = typeof USABLE_KINDS[number]
type Mapping = Record<string, unknown>

/** Throws DescriptorInvalidError with every problem found (up to `maxProblems`). */
export function validateDescriptor (descriptorKind: unknown, descriptor: unknown, opts: ValidateOptions): ValidatedDescriptor {
  const run = new Validation(opts)
  const kind = run.checkKind(descriptorKind)
  if (typeof descriptor !== 'string' || descriptor.trim() === '') {
    run.problem('descriptor', descriptor == null ? 'is required' : typeof descriptor !== 'string' ? `must be a string holding YAML or JSON, not ${describe(descriptor)}` : 'must not be empty',
      'send the descriptor as a YAML (or JSON) document in a string')
  }
  if (kind === undefined || typeof descriptor !== 'string') return run.fail()
  run.failIfAny()

  const root = parseYamlSafely(descriptor, { maxBytes: opts.maxBytes, maxNodes: opts.maxNodes, maxKeysPerMapping: opts.maxKeysPerMapping, field: 'descriptor' })
  if (!isMapping(root)) {
    run.problem('descriptor', `must be a YAML mapping, not ${describe(root)}`, kind === 'COMPONENT_DESCRIPTOR'
      ? 'a COMPONENT_DESCRIPTOR has two top-level keys: dataProduct and componentIdToProvision'
      : 'a DATAPRODUCT_DESCRIPTOR is the data product itself: id, domain, version, environment, components, ...')
    return run.fail()
  }
  return kind === 'COMPONENT_DESCRIPTOR' ? run.componentDescriptor(root) : run.dataProductDescriptor(root)
}

/** One validation run: the per-component steps share its problem collector (deduplicated) and warnings. */
class Validation {
  private readonly problems: InputProblem[] = []
  private readonly seen = new Set<string>()
  private readonly warnings: string[] = []

  constructor (private readonly opts: ValidateOptions) {}

  private hasSecret (dataProduct: Mapping): (name: string) => boolean {
    const scoped = secretScopeOf(dataProduct)
    return (name) => 'scope' in scoped && this.opts.secrets.lookup(name, scoped.scope).kind === 'found'
  }

  checkKind (descriptorKind: unknown): UsableKind | undefined {
    if ((USABLE_KINDS as readonly unknown[]).includes(descriptorKind)) return descriptorKind as UsableKind
    if (descriptorKind === 'DATAPRODUCT_DESCRIPTOR_WITH_RESULTS') {
      this.problem('descriptorKind', 'DATAPRODUCT_DESCRIPTOR_WITH_RESULTS is not used by specific provisioners',
        'send COMPONENT_DESCRIPTOR (one component) or DATAPRODUCT_DESCRIPTOR (the whole data product)')
    } else {
      this.problem('descriptorKind', descriptorKind == null ? 'is required' : `must be one of: ${USABLE_KINDS.join(', ')} (got ${describe(descriptorKind)})`,
        'COMPONENT_DESCRIPTOR for one component ({dataProduct, componentIdToProvision}), DATAPRODUCT_DESCRIPTOR for the bare data product')
    }
    return undefined
  }

  componentDescriptor (root: Mapping): ValidatedDescriptor {
    const dataProduct = root.dataProduct
    if (!isMapping(dataProduct)) {
      const barePr = dataProduct == null && Object.hasOwn(root, 'components')
      this.problem('dataProduct', dataProduct == null ? 'is required' : `must be a mapping (the data product), not ${describe(dataProduct)}`, barePr
        ? 'this looks like a bare data product: use descriptorKind DATAPRODUCT_DESCRIPTOR'
        : 'a COMPONENT_DESCRIPTOR has two top-level keys: dataProduct (the whole data product) and componentIdToProvision')
      return this.fail()
    }
    this.add(dataProductProblems(dataProduct, 'dataProduct'))
    const components = Array.isArray(dataProduct.components) ? dataProduct.components as unknown[] : []
    this.checkUniqueIds(components, 'dataProduct.')

    const wanted = root.componentIdToProvision
    let index = -1
    if (wanted == null || wanted === '') {
      this.problem('componentIdToProvision', 'is required', `name the component to act on: ${idsPresent(components)}`)
    } else if (typeof wanted !== 'string') {
      this.problem('componentIdToProvision', `must be a string (the id of one of dataProduct.components), not ${describe(wanted)}`)
    } else {
      index = components.findIndex((c) => isMapping(c) && c.id === wanted)
      if (index < 0) this.problem('componentIdToProvision', `names no component of the data product: ${wanted}`, idsPresent(components))
    }

    const targets: ComponentTarget[] = []
    const component = components[index]
    if (isMapping(component)) {
      const target = this.target(component, `dataProduct.components.${index}`, dataProduct)
      if (target !== undefined) targets.push(target)
    }
    this.failIfAny()
    const ids = targets.map((t) => t.component.id)
    return this.result('COMPONENT_DESCRIPTOR', dataProduct, targets, ids.length === 0 ? [] : [ids], [])
  }

  dataProductDescriptor (root: Mapping): ValidatedDescriptor {
    if (Object.hasOwn(root, 'dataProduct') && !Object.hasOwn(root, 'components')) {
      this.problem('descriptorKind', 'is DATAPRODUCT_DESCRIPTOR, but the descriptor wraps the data product in dataProduct as a COMPONENT_DESCRIPTOR does',
        'use descriptorKind COMPONENT_DESCRIPTOR, or send the data product itself (without the dataProduct wrapper)')
      return this.fail()
    }
    this.add(dataProductProblems(root, ''))
    const components = Array.isArray(root.components) ? root.components as unknown[] : []
    this.checkUniqueIds(components, '')

    const targets: ComponentTarget[] = []
    const skipped: ValidatedDescriptor['skipped'] = []
    const scope = new Set<string>()
    const nodes: DependencyNode[] = []
    components.forEach((component, i) => {
      const node = dependencyNode(component)
      nodes.push(node)
      if (!isMapping(component)) return
      const useCaseTemplateId = typeof component.useCaseTemplateId === 'string' ? component.useCaseTemplateId : undefined
      const handler = this.opts.routing.handlerFor(useCaseTemplateId)
      if (handler === undefined) {
        const id = typeof component.id === 'string' ? component.id : `components.${i}`
        skipped.push(useCaseTemplateId === undefined ? { id } : { id, useCaseTemplateId })
        return
      }
      const target = this.checkTarget(component, handler, `components.${i}`, root)
      targets.push(target)
      if (node.id !== undefined) scope.add(node.id)
    })

    // One line however many: a descriptor naming 12,000 components of other adapters must not write 12,000.
    if (skipped.length > 0) this.opts.log?.(skippedSummary(skipped))
    if (targets.length === 0) {
      this.warnings.push(components.length === 0
        ? 'the data product has no components; nothing to do'
        : `no component of the data product is handled by this adapter (it handles ${this.opts.routing.supportedIds().join(', ')}); nothing to do`)
    }
    const order = orderByDependencies(nodes, scope)
    if ('problems' in order) this.add(order.problems)
    this.failIfAny()
    const levels = 'levels' in order ? order.levels : []
    const position = new Map(levels.flat().map((id, n) => [id, n]))
    targets.sort((a, b) => (position.get(a.component.id) ?? 0) - (position.get(b.component.id) ?? 0))
    return this.result('DATAPRODUCT_DESCRIPTOR', root, targets, levels, skipped)
  }

  /** The component to provision in a COMPONENT_DESCRIPTOR: it must be claimed by a handler. */
  private target (component: Mapping, path: string, dataProduct: Mapping): ComponentTarget | undefined {
    const useCaseTemplateId = typeof component.useCaseTemplateId === 'string' ? component.useCaseTemplateId : undefined
    const handler = this.opts.routing.handlerFor(useCaseTemplateId)
    if (handler !== undefined) return this.checkTarget(component, handler, path, dataProduct)
    this.add(componentProblems(component, path))
    this.problem(`${path}.useCaseTemplateId`, useCaseTemplateId === undefined
      ? 'is missing, and this adapter has no default handler'
      : `${useCaseTemplateId} is not handled by this adapter`,
    `supported useCaseTemplateIds: ${this.opts.routing.supportedIds().join(', ')} (any version); send this component to the adapter that owns it`)
    return undefined
  }

  /** Everything about a component a handler claims: its common fields, `specific`, and its secret references. */
  private checkTarget (component: Mapping, handler: Handler, path: string, dataProduct: Mapping): ComponentTarget {
    const common = componentProblems(component, path)
    this.add(common)
    const specificPath = `${path}.specific`
    let specific = component.specific
    if (specific == null) {
      // A handler whose schema accepts an empty section lets the field be left out.
      const validateEmpty = specificValidator(handler)
      if (!validateEmpty({})) {
        const needed = ajvErrorsToProblems(validateEmpty.errors, '').map((p) => p.path).filter((p) => p !== '')
        this.problem(specificPath, 'is required', `the ${handler.id} handler reads its settings here${needed.length > 0 ? `; it needs at least: ${needed.join(', ')}` : ''}`)
      } else {
        specific = {}
      }
    }
    if (isMapping(specific)) {
      const validate = specificValidator(handler)
      const schemaOk = validate(specific)
      if (!schemaOk) this.add(ajvErrorsToProblems(validate.errors, specificPath))
      if (schemaOk && common.length === 0) {
        const checked = specific === component.specific ? component : { ...component, specific }
        const result = handler.checkSpecific(checked as Component, { dataProduct: dataProduct as DataProduct, hasSecret: this.hasSecret(dataProduct) })
        for (const p of result.problems) this.add([{ ...p, path: joinPath(specificPath, p.path) }])
        for (const w of result.warnings) this.warnings.push(`component ${String(component.id)}: ${w}`)
      }
      this.checkSecretRefs(specific, specificPath, dataProduct)
    }
    return { component: component as Component, handlerId: handler.id }
  }

  /**
   * Every `${secret:NAME}` must resolve within the data product's grants, to a value long enough to scrub. One
   * walk with a reused path stack instead of collectSecretRefs, which allocates a path string for every value of
   * `specific` on every request.
   */
  private checkSecretRefs (value: unknown, basePath: string, dataProduct: Mapping): void {
    const stack: string[] = [basePath]
    let scoped: { scope: SecretScope } | { problem: string } | undefined
    const checked = new Map<string, { message: string, hint?: string } | undefined>()
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        if (!v.includes('${secret:')) return
        const match = SECRET_REF.exec(v)
        const name = match?.[1]
        if (name === undefined) {
          this.problem(stack.join('.'), 'embeds a secret reference in a longer string',
            'a secret reference must be the whole value: "${secret:NAME}"; build the rest of the value in another field')
        } else {
          scoped ??= secretScopeOf(dataProduct)
          if ('problem' in scoped) {
            this.problem(stack.join('.'), `secret ${JSON.stringify(name)} cannot be granted: ${scoped.problem}`,
              'secrets are granted per domain and data product, named by the data product id urn:dmb:dp:<domain>:<name>:<major>')
          } else {
            // One store read per distinct name: a descriptor repeating a reference costs nothing more.
            let problem = checked.get(name)
            if (!checked.has(name)) {
              problem = secretRefProblem(this.opts.secrets.lookup(name, scoped.scope), name, scoped.scope)
              checked.set(name, problem)
            }
            if (problem !== undefined) this.problem(stack.join('.'), problem.message, problem.hint)
          }
        }
        return
      }
      if (v === null || typeof v !== 'object') return
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) { stack.push(String(i)); walk(v[i]); stack.pop() }
        return
      }
      for (const key in v) { stack.push(key); walk((v as Mapping)[key]); stack.pop() }
    }
    walk(value)
  }

  private checkUniqueIds (components: readonly unknown[], prefix: string): void {
    const first = new Map<string, number>()
    components.forEach((c, i) => {
      if (!isMapping(c) || typeof c.id !== 'string') return
      const earlier = first.get(c.id)
      if (earlier === undefined) first.set(c.id, i)
      else this.problem(`${prefix}components.${i}.id`, `duplicates the id of ${prefix}components.${earlier}: ${c.id}`, 'component ids must be unique within a data product')
    })
  }

  problem (path: string, message: string, hint?: string): void {
    this.add([hint === undefined ? { path, message } : { path, message, hint }])
  }

  add (problems: readonly InputProblem[]): void {
    for (const p of problems) {
      const key = `${p.path}\u0000${p.message}`
      if (this.seen.has(key)) continue
      this.seen.add(key)
      this.problems.push(p)
    }
  }

  failIfAny (): void {
    if (this.problems.length > 0) this.fail()
  }

  fail (): never {
    const max = Math.max(1, this.opts.maxProblems ?? 50)
    const scrub = this.opts.scrub
    const found = scrub === undefined
      ? this.problems
      : this.problems.map((p) => ({ ...p, message: scrub(p.message), ...(p.hint === undefined ? {} : { hint: scrub(p.hint) }) }))
    const all = found.length > 0 ? found : [{ path: 'descriptor', message: 'is invalid' }]
    if (all.length <= max) throw new DescriptorInvalidError(all)
    const kept = all.slice(0, max)
    const last = kept[max - 1] as InputProblem
    kept[max - 1] = { ...last, message: `${last.message} (... and ${all.length - max} more problem${all.length - max === 1 ? '' : 's'})` }
    throw new DescriptorInvalidError(kept)
  }

  private result (descriptorKind: UsableKind, dataProduct: Mapping, targets: ComponentTarget[], levels: string[][], skipped: ValidatedDescriptor['skipped']): ValidatedDescriptor {
    return { descriptorKind, dataProduct: dataProduct as DataProduct, targets, levels, skipped, warnings: this.warnings }
  }
}

// One Ajv per handler, so handlers' schema `$id`s never collide; compiled on first use and kept with the handler.
const specificValidators = new WeakMap<Handler, ValidateFunction>()

/**
 * The compiled schema of a handler's `specific` section. Call it at start-up to fail fast on a schema Ajv
 * cannot compile (a programming error, thrown as a plain Error).
 */
export function specificValidator (handler: Handler): ValidateFunction {
  let validate = specificValidators.get(handler)
  if (validate === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: false, verbose: true })
    addFormats.default(ajv)
    try {
      validate = ajv.compile(handler.specificSchema)
    } catch (err) {
      throw new Error(`handler ${handler.id}: its specificSchema does not compile: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
    specificValidators.set(handler, validate)
  }
  return validate
}

function dependencyNode (component: unknown): DependencyNode {
  if (!isMapping(component)) return { id: undefined }
  // A component without a usable id cannot be depended on; the schema problem says what is wrong with it.
  const id = typeof component.id === 'string' && component.id !== '' ? component.id : undefined
  const deps = component.dependsOn
  if (!Array.isArray(deps)) return { id }
  return { id, dependsOn: deps.every((d) => typeof d === 'string') ? deps as string[] : deps.filter((d): d is string => typeof d === 'string') }
}

/** How many components other adapters own, with the first few: one log line, of bounded length. */
export function skippedSummary (skipped: ValidatedDescriptor['skipped'], shown = 5): string {
  const listed = skipped.slice(0, shown).map((s) => `${s.id.length > 200 ? `${s.id.slice(0, 200)}...` : s.id} (${s.useCaseTemplateId === undefined ? 'no useCaseTemplateId' : s.useCaseTemplateId.slice(0, 200)})`)
  const more = skipped.length > shown ? `, ... and ${skipped.length - shown} more` : ''
  return `${skipped.length} component${skipped.length === 1 ? '' : 's'} belong${skipped.length === 1 ? 's' : ''} to other adapters; skipped: ${listed.join(', ')}${more}`
}

function isMapping (value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function idsPresent (components: readonly unknown[]): string {
  const ids = components.flatMap((c) => isMapping(c) && typeof c.id === 'string' ? [c.id] : [])
  if (ids.length === 0) return 'the data product has no components with an id'
  const shown = ids.slice(0, 10).join(', ')
  return `components present: ${shown}${ids.length > 10 ? `, ... (${ids.length} in all)` : ''}`
}

function describe (value: unknown): string {
  if (value === null || value === undefined) return 'empty'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)}`
  if (typeof value === 'object') return 'a mapping'
  return `the ${typeof value} ${String(value)}`
}
