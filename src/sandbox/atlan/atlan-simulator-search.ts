/**
 * `POST /api/meta/search/indexsearch`: an Elasticsearch-style bool query over what the index holds, which lags
 * writes (atlan-simulator-store). Supports `term` / `terms` / `prefix` filters on the fields clients use;
 * names match case-insensitively, as Atlan's name search does. No hit answers without an `entities` key.
 */
import { badRequest } from './atlan-simulator-errors.js'
import { isObject, requireObject, type AtlanRoute } from './atlan-simulator-routes.js'
import type { SimEntity } from './atlan-simulator-store.js'

function fieldValue (e: SimEntity, field: string): unknown {
  const bare = field.replace(/\.keyword$/, '')
  switch (bare) {
    case '__typeName': return e.typeName
    case '__state': return e.status
    case '__guid': return e.guid
    case '__createdBy': return e.createdBy
    default: return e.attributes[bare]
  }
}

function equalsTerm (field: string, actual: unknown, expected: unknown): boolean {
  const bare = field.replace(/\.keyword$/, '')
  const ci = bare === 'name' || bare === '__typeName'
  const eq = (a: unknown): boolean => ci && typeof a === 'string' && typeof expected === 'string'
    ? a.toLowerCase() === expected.toLowerCase()
    : a === expected
  return Array.isArray(actual) ? actual.some(eq) : eq(actual)
}

function matches (e: SimEntity, clause: unknown): boolean {
  if (!isObject(clause)) throw badRequest('every filter clause must be an object')
  const [kind, spec] = Object.entries(clause)[0] ?? []
  if (kind === undefined || !isObject(spec)) throw badRequest('a filter clause names one query type')
  const [field, expected] = Object.entries(spec)[0] ?? []
  if (field === undefined) throw badRequest(`${kind} names no field`)
  const actual = fieldValue(e, field)
  const value = isObject(expected) && 'value' in expected ? expected.value : expected
  switch (kind) {
    case 'term': return equalsTerm(field, actual, value)
    case 'terms': return Array.isArray(value) && value.some((v) => equalsTerm(field, actual, v))
    case 'prefix': return typeof actual === 'string' && typeof value === 'string' && actual.startsWith(value)
    case 'bool': return boolMatches(e, spec)
    default: throw badRequest(`unsupported query type ${kind}`)
  }
}

function boolMatches (e: SimEntity, bool: Record<string, unknown>): boolean {
  const all = [...asList(bool.filter), ...asList(bool.must)]
  const none = asList(bool.must_not)
  return all.every((c) => matches(e, c)) && !none.some((c) => matches(e, c))
}

function asList (v: unknown): unknown[] {
  if (v === undefined) return []
  return Array.isArray(v) ? v : [v]
}

export const searchRoutes: AtlanRoute[] = [{
  method: 'POST',
  path: '/api/meta/search/indexsearch',
  handle: (ctx) => {
    const body = requireObject(ctx.body)
    const dsl = requireObject(body.dsl, 'dsl')
    const query = dsl.query === undefined ? {} : requireObject(dsl.query, 'dsl.query')
    const bool = query.bool === undefined ? {} : requireObject(query.bool, 'dsl.query.bool')
    const from = typeof dsl.from === 'number' ? dsl.from : 0
    const size = typeof dsl.size === 'number' ? dsl.size : 10
    const wanted = Array.isArray(body.attributes) ? body.attributes.filter((a): a is string => typeof a === 'string') : []
    const hits = ctx.store.searchable().filter((e) => boolMatches(e, bool)).sort((a, b) => a.createTime - b.createTime)
    if (hits.length === 0) return { status: 200, body: { queryType: 'INDEX', approximateCount: 0 } }
    const entities = hits.slice(from, from + size).map((e) => ({
      typeName: e.typeName,
      guid: e.guid,
      status: e.status,
      displayText: e.attributes.name,
      attributes: Object.fromEntries(['name', 'qualifiedName', ...wanted].filter((k) => k in e.attributes).map((k) => [k, e.attributes[k]]))
    }))
    return { status: 200, body: { queryType: 'INDEX', approximateCount: hits.length, entities } }
  }
}]
