import t from 'tap'
import { readFileSync } from 'node:fs'
import { fingerprintLabel, MIN_TOKEN_LENGTH, parseTokenFile, tokenDigest } from '../../src/auth/bearer-token-file.js'

const LONG = 'a-very-long-token-0001'
const OTHER = 'another-long-token-0002'

t.test('labelled and bare tokens, comments, blank lines, CRLF and a BOM', async t => {
  const { entries, problems } = parseTokenFile(`\uFEFF# header\r\n\r\norchestrator ${LONG}\r\n  \t${OTHER}  \r\n   # indented comment\n`)
  t.same(problems, [])
  t.same(entries.map(e => e.label), ['orchestrator', fingerprintLabel(tokenDigest(OTHER))])
  t.match(entries[1]?.label, /^token-[0-9a-f]{8}$/, 'a bare token is named by a short fingerprint')
  t.notMatch(entries[1]?.label, OTHER.slice(0, 6), 'the fingerprint is not a piece of the token')
  t.ok(entries[0]?.digest.equals(tokenDigest(LONG)), 'only the digest is kept')
})

t.test('tab-separated label and token', async t => {
  t.same(parseTokenFile(`ci\t\t${LONG}`).entries.map(e => e.label), ['ci'])
})

t.test('several tokens under one label (rotation) are all accepted', async t => {
  const { entries, problems } = parseTokenFile(`orchestrator ${LONG}\norchestrator ${OTHER}\n`)
  t.same(problems, [])
  t.equal(entries.length, 2)
})

t.test('a short token, three fields, a bad label, a control character and one token under two labels are refused by line', async t => {
  const { entries, problems } = parseTokenFile([
    'short-token', // 1
    `a b ${LONG}`, // 2
    `-bad-label ${LONG}`, // 3
    `ok ${LONG}`, // 4
    `other ${LONG}`, // 5
    `ctl tok\u0007${LONG}` // 6
  ].join('\n'))
  t.same(entries.map(e => e.label), ['ok'])
  t.equal(problems.length, 5)
  t.match(problems[0], new RegExp(`^line 1: .*at least ${MIN_TOKEN_LENGTH}`))
  t.match(problems[1], /^line 2: expected "label token"/)
  t.match(problems[2], /^line 3: the label/)
  t.match(problems[3], /^line 5: the same token is already listed under the label ok/)
  t.match(problems[4], /^line 6: the token must be visible ASCII/)
  for (const problem of problems) t.notMatch(problem, LONG, 'no problem quotes a token')
  t.notMatch(problems[0], 'short-token')
})

t.test('the same token listed twice under one label is one entry', async t => {
  t.equal(parseTokenFile(`x ${LONG}\nx ${LONG}`).entries.length, 1)
})

t.test('the compose example file parses to one fake orchestrator token', async t => {
  const { entries, problems } = parseTokenFile(readFileSync(new URL('../../examples/api-tokens.txt', import.meta.url), 'utf8'))
  t.same(problems, [])
  t.same(entries.map(e => e.label), ['orchestrator'])
})
