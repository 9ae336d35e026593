import t, { type Test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { stringify, type ToStringOptions } from 'yaml'
import { parseYamlSafely } from '../../src/descriptor/yaml-parse.js'
import { tryParseBlockYaml } from '../../src/descriptor/yaml-block-fast-path.js'
import { cashflowProduct } from '../fixtures/cashflow-product.js'

const LIMITS = { maxNodes: 200_000, maxKeysPerMapping: 10_000, maxDepth: 64 }
const OPTS = { maxBytes: 8 * 1024 * 1024, field: 'descriptor' }

/** The full parser's answer: its value, or its refusal. */
function full (text: string): { value: unknown } | { error: string } {
  try {
    return { value: parseYamlSafely(text, { ...OPTS, blockFastPath: false }) }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/** The fast path either declines or reads exactly what the full parser reads; it never accepts a refusal. */
function agrees (t: Test, text: string, what: string): boolean {
  const fast = tryParseBlockYaml(text, LIMITS)
  if (fast === undefined) return false
  const expected = full(text)
  if ('error' in expected) {
    t.fail(`${what}: the fast path accepted what the full parser refuses (${expected.error}): ${JSON.stringify(text.slice(0, 200))}`)
    return true
  }
  // JSON, so -0 and 0, or a key order difference, cannot hide a real difference either way.
  if (JSON.stringify(fast.value) !== JSON.stringify(expected.value)) {
    t.fail(`${what}: different data for ${JSON.stringify(text.slice(0, 300))}`, { found: fast.value, wanted: expected.value })
  }
  return true
}

// A seeded generator: every run tries the same documents, and a failure can be replayed.
function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = Math.imul(s ^ (s >>> 15), 1 | s)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const TRICKY = ['', ' ', 'a', 'true', 'True', 'yes', 'no', 'on', 'null', 'Null', '~', '0', '-0', '007', '0x1F', '0o17', '1e3', '+1', '-5', '.5', '1.', '1.0',
  '1.50', '.inf', '-.Inf', '.nan', '12345678901234567890', 'a: b', 'a #b', 'a#b', '#x', '- x', '-x', '?x', ':x', 'x:', 'x:y', '[a]', '{a}', '{}', '[]',
  '&a', '*a', '!x', '|', '>', "it's", 'say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', 'trailing ', ' leading', 'ünïcödé', '日本語', '😀',
  'urn:dmb:cmp:finance:orders:0:ingest', '${secret:orders-db-password}', '0 0 2 * * ?', '%x', '@x', '`x', 'a,b', '---', '...', '__proto__', 'constructor']

function randomValue (rand: () => number, depth: number): unknown {
  const r = rand()
  if (depth > 4 || r < 0.45) {
    const k = rand()
    if (k < 0.1) return Math.floor(rand() * 1e6) - 5e5
    if (k < 0.15) return Math.round(rand() * 1e4) / 100
    if (k < 0.2) return rand() < 0.5
    if (k < 0.23) return null
    return TRICKY[Math.floor(rand() * TRICKY.length)]
  }
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1))
  const out: Record<string, unknown> = {}
  const n = Math.floor(rand() * 5)
  for (let i = 0; i < n; i++) {
    const key = rand() < 0.7 ? `key${Math.floor(rand() * 20)}` : String(TRICKY[Math.floor(rand() * TRICKY.length)])
    out[key] = randomValue(rand, depth + 1)
  }
  return out
}

t.test('descriptors in block style, as platforms serialise them, take the fast path with the same data', async t => {
  const examples = readdirSync(new URL('../../examples/', import.meta.url)).filter(f => f.endsWith('.yaml'))
  t.ok(examples.length >= 2, 'examples found')
  for (const file of examples) {
    const text = readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8')
    // Written by hand with flow mappings (`{ scheduleType: cron, ... }`): the full parser's, and the same data.
    agrees(t, text, file)
    const data = parseYamlSafely(text, OPTS)
    t.ok(agrees(t, stringify(data), `${file} in block style`), `${file} in block style took the fast path`)
  }
  const product = stringify({ dataProduct: cashflowProduct([{ id: 'urn:dmb:cmp:finance:cashflow:0:ingest', kind: 'workload', specific: { source: { name: 'orders' } } }]) })
  t.ok(agrees(t, product, 'cashflow'), 'the CashFlow product took the fast path')
})

t.test('generated documents: whatever the fast path reads, it reads as the full parser does', async t => {
  const rand = prng(20261203)
  const styles: ToStringOptions[] = [
    {}, { indent: 4 }, { indentSeq: false }, { defaultStringType: 'QUOTE_DOUBLE' }, { defaultStringType: 'QUOTE_SINGLE' },
    { defaultKeyType: 'QUOTE_DOUBLE' }, { lineWidth: 20, minContentWidth: 0 }, { collectionStyle: 'flow' }, { nullStr: '~' }, { trueStr: 'True' }
  ]
  let taken = 0
  const documents = 3000
  for (let i = 0; i < documents; i++) {
    const value = { dataProduct: randomValue(rand, 0), n: i }
    const text = stringify(value, styles[i % styles.length])
    if (agrees(t, text, `document ${i}`)) taken++
  }
  t.ok(taken > documents / 4, `the fast path read ${taken} of ${documents}`)
})

t.test('hand-written edge cases: read the same, or left to the full parser', async t => {
  const cases = [
    'a: 1\nb:\n  - x\n  - y\n', 'a:\n- x\n- y\nb: 2\n', '- a\n- - b\n  - c\n-\n- d: 1\n  e: 2\n', 'a:\n  b:\n    c: d\n  e: f\n',
    'a: b: c\n', 'a:\n  b\n c\n', 'a: 1\na: 2\n', "a: 'unterminated\n", 'a: "x\\"\n', 'a: "\\x41"\n', 'a: "\\u00e9\\n"\n', "a: 'it''s'\n",
    'a: b # comment\n', '# only a comment\n', '', '---\na: 1\n', 'a: 1\n---\nb: 2\n', 'a:\tb\n', 'a: 1\r\nb: 2\r\n', '\uFEFFa: 1\n', 'a: |\n  text\n',
    'a: >\n  folded\n', 'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: [1, 2]\n', 'a: {b: 1}\n', 'a: {}\nb: []\n', '? a\n: b\n', '"quoted key": 1\n',
    "'single key': 2\n", 'null: 1\n', 'true: 1\n', '1: a\n', '__proto__: x\n', 'a:\n    - x\n  b: 1\n', '  a: 1\n  b: 2\n', 'a: 1\n  b: 2\n',
    'a: multi\n  line\n', 'a: multi\n\n  line\n', 'a: multi\n  # c\n  line\n', 'a: multi\n  line: x\n', 'a: "multi\n  line"\n', 'a: one\n   two  \n  three\nb: 1\n',
    'a: true\n  more\n', 'a: 1\n  2\n', '- a\n  b\n', '- a\nb: c\n', 'a: x\u0085y\n', 'a: \uD800\n', 'a: 😀\n', 'a: -1\n', 'a: 0.5\n', 'a: 1.0e2\n', 'key : value\n', 'a:b: c\n'
  ]
  for (const text of cases) agrees(t, text, 'case')
  // A few the fast path must read itself, so the comparison above is not vacuous.
  for (const text of ['a: one\n   two  \n  three\nb: 1\n', 'a: 1\nb:\n  - x\n  - y\n', 'a:\n- x\n- y\nb: 2\n', '- a\n- - b\n  - c\n-\n- d: 1\n  e: 2\n', "a: 'it''s'\n", 'a: {}\nb: []\n']) {
    t.ok(tryParseBlockYaml(text, LIMITS) !== undefined, `read by the fast path: ${JSON.stringify(text)}`)
  }
})

t.test('near a limit the fast path declines, so the full parser gives the refusal with its hint', async t => {
  const keys = Array.from({ length: 60 }, (_, i) => `k${i}: v`).join('\n')
  t.equal(tryParseBlockYaml(keys, { ...LIMITS, maxKeysPerMapping: 50 }), undefined, 'keys')
  t.equal(tryParseBlockYaml(keys, { ...LIMITS, maxNodes: 100 }), undefined, 'nodes')
  const deep = Array.from({ length: 10 }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n') + ' v\n'
  t.equal(tryParseBlockYaml(deep, { ...LIMITS, maxDepth: 8 }), undefined, 'depth')
  t.throws(() => parseYamlSafely(keys, { ...OPTS, maxKeysPerMapping: 50 }), /MAX_KEYS_PER_MAPPING/)
})

t.test('the fast path costs what the input is long: a long folded scalar and many entries', async t => {
  // Counted in work, not time: the result is checked, and the full parser agrees.
  const folded = `a: ${Array.from({ length: 20_000 }, (_, i) => `w${i}`).join('\n  ')}\n`
  t.ok(agrees(t, folded, 'folded'), 'read by the fast path')
  t.equal((tryParseBlockYaml(folded, LIMITS)?.value as { a: string }).a.split(' ').length, 20_000)
  const entries = Array.from({ length: 9_000 }, (_, i) => `k${i}: v${i}`).join('\n')
  t.ok(agrees(t, entries, 'entries'), 'read by the fast path')
})
