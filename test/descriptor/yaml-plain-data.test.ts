import t from 'tap'
import { Composer, Parser, type Document } from 'yaml'
import { PlainDataError, toPlainData, type PlainDataLimits, type PlainDataProblem } from '../../src/descriptor/yaml-plain-data.js'

// The options yaml-parse.ts composes with: core schema, no merge keys, yaml's own duplicate-key check off.
function compose (text: string): Document.Parsed {
  const docs = [...new Composer({ schema: 'core', merge: false, uniqueKeys: false, resolveKnownTags: false, logLevel: 'error' }).compose(new Parser().parse(text), true)]
  return docs[0] as Document.Parsed
}

function problemOf (text: string, limits: PlainDataLimits = {}): PlainDataProblem | undefined {
  try {
    toPlainData(compose(text), limits)
  } catch (err) {
    if (err instanceof PlainDataError) return err.problem
    throw err
  }
  return undefined
}

t.test('the same data as yaml\'s toJS, for every kind of node', async t => {
  const text = 'a: 1\nb: [x, 2.5, true, null, ~]\nc: {d: "e"}\n"quoted key": !!str 3\n1: one\nnull: n\nempty:\n'
  const doc = compose(text)
  t.same(toPlainData(doc), doc.toJS())
  t.same(toPlainData(compose('')), null, 'an empty document is null')
  t.same(toPlainData(compose('- [a, [b, [c]]]\n')), [['a', ['b', ['c']]]])
})

t.test('duplicate keys are found at any depth, with their offset', async t => {
  t.match(problemOf('a: 1\na: 2\n'), { kind: 'duplicate-key', key: 'a', offset: 5 })
  t.match(problemOf('x:\n  - y:\n      z: 1\n      z: 2\n'), { kind: 'duplicate-key', key: 'z' })
  t.match(problemOf('[{a: 1, a: 1}]'), { kind: 'duplicate-key', key: 'a' })
  t.match(problemOf('1: a\n"1": b\n'), { kind: 'duplicate-key', key: '1' }, 'keys that are equal as object keys collide')
  t.equal(problemOf('a: {k: 1}\nb: {k: 1}\n'), undefined, 'the same key in two mappings is fine')
})

t.test('aliases share the anchored value; a later anchor of the same name wins from there on', async t => {
  const value = toPlainData(compose('base: &b {x: 1}\none: *b\ntwo: *b\nscalar: &s hello\nagain: *s\n')) as Record<string, any>
  t.same(value, { base: { x: 1 }, one: { x: 1 }, two: { x: 1 }, scalar: 'hello', again: 'hello' })
  t.equal(value.one, value.base, 'the anchored object itself, as yaml gives it')
  t.same(toPlainData(compose('a: &n 1\nb: *n\nc: &n 2\nd: *n\n')), { a: 1, b: 1, c: 2, d: 2 })
})

t.test('an alias to no anchor, or to the node that contains it, is refused', async t => {
  t.match(problemOf('a: *nowhere\n'), { kind: 'unknown-anchor', anchor: 'nowhere' })
  t.match(problemOf('a: &loop [1, *loop]\n'), { kind: 'recursive-alias', anchor: 'loop' })
})

t.test('each alias costs the nodes it repeats, so a bomb is refused within the budget', async t => {
  const lines = ['l0: &l0 [a, a, a, a, a, a, a, a, a, a]']
  for (let i = 1; i < 10; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`)
  // Ten levels are 10^10 scalars: only a refusal within the budget finishes before the test's timeout.
  t.match(problemOf(lines.join('\n'), { maxNodes: 200_000 }), { kind: 'too-many-nodes', viaAlias: true })
  // 4 levels: the root, 4 keys and 11 + 111 + 1,111 + 11,111 expanded nodes, 12,349 in all.
  const four = lines.slice(0, 4).join('\n')
  t.equal(problemOf(four, { maxNodes: 12_349 }), undefined)
  t.match(problemOf(four, { maxNodes: 12_348 }), { kind: 'too-many-nodes', viaAlias: true })
})

t.test('the node budget counts keys and values; the key limit counts one mapping', async t => {
  t.equal(problemOf('a: 1\nb: 2\n', { maxNodes: 5 }), undefined, 'a mapping, two keys, two values')
  t.match(problemOf('a: 1\nb: 2\n', { maxNodes: 4 }), { kind: 'too-many-nodes', viaAlias: false })
  t.equal(problemOf('{a: 1, b: 2, c: 3}', { maxKeysPerMapping: 3 }), undefined)
  t.match(problemOf('x: {a: 1, b: 2, c: 3, d: 4}', { maxKeysPerMapping: 3 }), { kind: 'too-many-keys', keys: 4 })
})

t.test('depth is bounded, aliases included', async t => {
  t.equal(problemOf('[[[1]]]', { maxDepth: 3 }), undefined)
  t.match(problemOf('[[[[1]]]]', { maxDepth: 3 }), { kind: 'too-deep' })
  t.match(problemOf('a: &d [[1]]\nb: [[*d]]\n', { maxDepth: 4 }), { kind: 'too-deep' }, 'an alias nests its target where it stands')
})

t.test('merge keys stay plain keys (YAML 1.2 core), as before', async t => {
  t.same(toPlainData(compose('base: &b {x: 1}\nm: {<<: *b, y: 2}\n')), { base: { x: 1 }, m: { '<<': { x: 1 }, y: 2 } })
})

t.test('__proto__ is an own data property; a collection as a key is refused', async t => {
  const value = toPlainData(compose('__proto__: {polluted: true}\n')) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(value), Object.prototype)
  t.ok(Object.hasOwn(value, '__proto__'))
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.match(problemOf('? [a, b]\n: c\n'), { kind: 'collection-key' })
})
