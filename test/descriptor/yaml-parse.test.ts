import t, { type Test } from 'tap'
import { parseYamlSafely, type ParseYamlOptions } from '../../src/descriptor/yaml-parse.js'
import { DescriptorInvalidError, type InputProblem } from '../../src/errors.js'

const opts: ParseYamlOptions = { maxBytes: 64 * 1024, field: 'descriptor' }

function refusal (t: Test, text: string, options = opts): InputProblem[] {
  try {
    parseYamlSafely(text, options)
  } catch (err) {
    t.type(err, DescriptorInvalidError)
    const problems = (err as DescriptorInvalidError).problems
    t.ok(problems.length > 0, 'names at least one problem')
    for (const p of problems) t.equal(p.path, options.field, 'every problem is at the input field')
    return problems
  }
  t.fail(`expected ${JSON.stringify(text.slice(0, 40))} to be refused`)
  return []
}

function billionLaughs (levels: number): string {
  const lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
  for (let i = 1; i < levels; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`)
  return lines.join('\n')
}

t.test('plain YAML parses into plain data', async (t) => {
  const value = parseYamlSafely('a: 1\nb: [x, "y"]\nc: {d: null, e: true}\nf: 0.2.0\ng: yes\nh: 2023-06-12T12:52:11.737Z\n', opts)
  t.same(value, { a: 1, b: ['x', 'y'], c: { d: null, e: true }, f: '0.2.0', g: 'yes', h: '2023-06-12T12:52:11.737Z' })
})

t.test('JSON input is valid YAML and parses', async (t) => {
  const json = JSON.stringify({ dataProduct: { id: 'x', components: [{ id: 'c', specific: { n: 1.5, ok: false } }] }, componentIdToProvision: 'c' }, null, 2)
  t.same(parseYamlSafely(json, opts), JSON.parse(json))
})

t.test('an empty document parses to null (the validator refuses it)', async (t) => {
  t.equal(parseYamlSafely('# only a comment\n', opts), null)
})

t.test('input over maxBytes is refused before parsing, counting UTF-8 bytes', async (t) => {
  const small = { maxBytes: 10, field: 'descriptor' }
  t.same(parseYamlSafely('a: ééé', small), { a: 'ééé' }, '9 bytes pass')
  const [p] = refusal(t, 'a: éééé', small)
  t.match(p?.message, /larger than the 10 bytes/)
  // Refused by length alone: a malformed document this large never reaches the parser.
  const started = performance.now()
  refusal(t, '['.repeat(5_000_000), { maxBytes: 1024, field: 'descriptor' })
  t.ok(performance.now() - started < 50, 'refused without parsing')
})

t.test('a syntax error is refused with its line and column', async (t) => {
  const [p] = refusal(t, 'a: 1\nb: [1, 2\nc: 3\n')
  t.match(p?.message, /^is not valid YAML at line 3, column 1: Flow sequence/)
  t.notMatch(p?.message, /\n/, 'no source excerpt echoed back')
})

t.test('duplicate keys are refused', async (t) => {
  const [p] = refusal(t, 'a: 1\nb: 2\na: 3\n')
  t.match(p?.message, /duplicate key "a" at line 3, column 1/)
})

t.test('duplicate keys inside nested mappings are refused too', async (t) => {
  refusal(t, 'dataProduct:\n  components:\n    - id: x\n      id: y\n')
})

t.test('a billion laughs document is refused without being expanded', async (t) => {
  // 10^30 strings once expanded: only a refusal within the node budget can finish before the test's timeout.
  const [p] = refusal(t, billionLaughs(30))
  t.match(p?.message, /aliases that expand too much/)
  t.match(refusal(t, billionLaughs(10), { ...opts, maxNodes: undefined })[0]?.message, /MAX_DESCRIPTOR_NODES/, 'an undefined limit is the default, not none')
})

t.test('a few aliases are fine', async (t) => {
  t.same(parseYamlSafely('base: &b {x: 1}\none: *b\ntwo: *b\n', opts), { base: { x: 1 }, one: { x: 1 }, two: { x: 1 } })
})

t.test('an alias to an undefined anchor is refused', async (t) => {
  refusal(t, 'a: *nowhere\n')
})

t.test('a !!js/function tag is refused, not turned into a string', async (t) => {
  const [p] = refusal(t, 'a: !!js/function "function () { return process.exit(1) }"\n')
  t.match(p?.message, /unsupported YAML tag at line 1, column 4: tag:yaml.org,2002:js\/function/)
})

t.test('custom and YAML 1.1 tags are refused', async (t) => {
  for (const text of ['a: !foo bar\n', 'a: !!binary aGVsbG8=\n', 'a: !!set {x, y}\n', 'a: !!timestamp 2001-12-14\n', '%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n']) {
    const [p] = refusal(t, text)
    t.match(p?.message, /unsupported YAML tag/, text)
  }
})

t.test('core tags are accepted', async (t) => {
  t.same(parseYamlSafely('a: !!str 1\nb: !!int "2"\n', opts), { a: '1', b: 2 })
})

t.test('merge keys are not expanded (YAML 1.2 core)', async (t) => {
  t.same(parseYamlSafely('a: {<<: {x: 1}}\n', opts), { a: { '<<': { x: 1 } } })
})

t.test('several documents in one string are refused', async (t) => {
  const [p] = refusal(t, 'a: 1\n---\nb: 2\n')
  t.match(p?.message, /more than one YAML document/)
})

t.test('__proto__ stays an own data property and Object.prototype is never polluted', async (t) => {
  const value = parseYamlSafely('__proto__:\n  polluted: yes\n  isAdmin: true\nnested:\n  __proto__: {polluted: yes}\n', opts) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(value), Object.prototype, 'the result keeps its ordinary prototype')
  t.ok(Object.hasOwn(value, '__proto__'), '__proto__ is an own property')
  t.same(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { polluted: 'yes', isAdmin: true })
  t.equal((value as { isAdmin?: unknown }).isAdmin, undefined, 'nothing inherited from the __proto__ value')
  const nested = value.nested as Record<string, unknown>
  t.equal(Object.getPrototypeOf(nested), Object.prototype)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.equal((Object.prototype as Record<string, unknown>).isAdmin, undefined)
})

t.test('constructor and prototype keys are plain data', async (t) => {
  const value = parseYamlSafely('constructor:\n  prototype:\n    polluted: yes\nprototype: {x: 1}\n', opts) as Record<string, unknown>
  t.ok(Object.hasOwn(value, 'constructor'))
  t.same(value.constructor, { prototype: { polluted: 'yes' } })
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.equal(typeof ({}).constructor, 'function', 'Object.prototype.constructor untouched')
})

t.test('JSON with __proto__ is harmless too', async (t) => {
  const value = parseYamlSafely('{"__proto__": {"polluted": 1}, "a": {"__proto__": {"polluted": 2}}}', opts) as Record<string, unknown>
  t.ok(Object.hasOwn(value, '__proto__'))
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('nesting deeper than maxDepth is refused', async (t) => {
  const deep = '['.repeat(70) + ']'.repeat(70)
  const [p] = refusal(t, deep)
  t.match(p?.message, /deeper than 64 levels/)
  t.same(parseYamlSafely('[[[1]]]', { ...opts, maxDepth: 3 }), [[[1]]])
  refusal(t, '[[[[1]]]]', { ...opts, maxDepth: 3 })
})

t.test('a small but deeply nested document is refused before yaml composes it', async (t) => {
  // Composing these recursively can abort the process (a fatal V8 error, not a catchable one).
  for (const text of ['['.repeat(5000) + ']'.repeat(5000), '{a: '.repeat(5000) + '1' + '}'.repeat(5000), '- '.repeat(5000) + '1', '? '.repeat(5000) + 'a']) {
    const started = performance.now()
    const [p] = refusal(t, text)
    t.match(p?.message, /deeper than 64 levels/, text.slice(0, 8))
    t.ok(performance.now() - started < 100, 'refused quickly')
  }
})

t.test('absurd block nesting does not overflow the stack', async (t) => {
  let text = ''
  for (let i = 0; i < 20_000; i++) text += ' '.repeat(i % 1000) + 'a:\n'
  refusal(t, text, { maxBytes: 10_000_000, field: 'descriptor' })
})

t.test('problems carry the caller\'s field', async (t) => {
  const [p] = refusal(t, 'a: [', { maxBytes: 100, field: 'provisionInfo.request' })
  t.equal(p?.path, 'provisionInfo.request')
})

t.test('JSON input takes the fast path with the same guarantees as YAML', async t => {
  const opts = { maxBytes: 1_000_000, field: 'descriptor' }
  t.same(parseYamlSafely('{"a": {"b": [1, "x\\"y", {"c": null}]}, "d": true}', opts), { a: { b: [1, 'x"y', { c: null }] }, d: true })
  t.throws(() => parseYamlSafely('{"a": 1, "b": {"x": 1, "x": 2}}', opts), /duplicate key "x" at line 1/)
  t.throws(() => parseYamlSafely('{"a\\u0062": 1, "ab": 2}', opts), /duplicate key "ab"/, 'escaped keys are compared decoded')
  t.same(parseYamlSafely('[{"a": 1}, {"a": 2}]', opts), [{ a: 1 }, { a: 2 }], 'the same key in sibling objects is fine')
  t.same(parseYamlSafely('{"s": "{\\"a\\":1,\\"a\\":2}"}', opts), { s: '{"a":1,"a":2}' }, 'braces inside strings are text')
  t.throws(() => parseYamlSafely('['.repeat(5000) + ']'.repeat(5000), opts), /deeper than 64/)
  const polluted = parseYamlSafely('{"__proto__": {"polluted": true}}', opts) as Record<string, unknown>
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.ok(Object.hasOwn(polluted, '__proto__'), '__proto__ is an own data property')
  t.same(parseYamlSafely('{a: 1}', opts), { a: 1 }, 'YAML flow mappings still parse as YAML')
})

t.test('JSON and YAML count nodes and keys alike', async t => {
  const json = '{"a": 1, "b": [true, null, -1.5e3, "s"]}'
  const yaml = 'a: 1\nb: [true, null, -1.5e3, s]\n'
  for (const text of [json, yaml]) {
    // A mapping, two keys, a value, a list and four items: nine nodes.
    t.same(parseYamlSafely(text, { ...opts, maxNodes: 9 }), { a: 1, b: [true, null, -1500, 's'] })
    t.match(refusal(t, text, { ...opts, maxNodes: 8 })[0]?.message, /MAX_DESCRIPTOR_NODES/)
    t.match(refusal(t, text, { ...opts, maxKeysPerMapping: 1 })[0]?.message, /more than the 1 keys allowed \(MAX_KEYS_PER_MAPPING\)/)
  }
})

t.test('limits are DescriptorLimitErrors; content problems are not', async t => {
  const { DescriptorLimitError } = await import('../../src/descriptor/descriptor-limits.js')
  for (const [text, limited] of [['a: 1\na: 2\n', false], ['a: [[[[1]]]]', true], ['{"a": [1, 2, 3]}', true]] as const) {
    try {
      parseYamlSafely(text, { ...opts, maxDepth: 3, maxNodes: 4 })
      t.fail('refused')
    } catch (err) {
      t.equal(err instanceof DescriptorLimitError, limited, text)
    }
  }
})

t.test('a huge duplicate key is quoted cut short, so the refusal stays small', async t => {
  const key = 'k'.repeat(20_000)
  for (const text of [`${key}: 1\n${key}: 2\n`, JSON.stringify({ a: 1 }).replace('{', `{"${key}": 1, "${key}": 2, `)]) {
    const [p] = refusal(t, text, { ...opts, maxBytes: 1024 * 1024 })
    t.ok((p?.message.length ?? Infinity) < 300, `message of ${p?.message.length ?? 0} characters`)
  }
})
