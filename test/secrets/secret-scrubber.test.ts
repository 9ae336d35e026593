import t from 'tap'
import fc from 'fast-check'
import { CUT_MIN, MASK, SecretScrubber } from '../../src/secrets/secret-scrubber.js'

const SECRET = 'Orders-DB p@ss/w0rd+"x"&<y>'
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')
const b64url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url')

function scrubberFor (...values: string[]): SecretScrubber {
  const s = new SecretScrubber()
  for (const v of values) s.add(v)
  return s
}

/** The ways an upstream answer commonly carries a value it was sent. */
const SHAPES: Record<string, (s: string) => string> = {
  'as is': (s) => s,
  'JSON-escaped and quoted': (s) => JSON.stringify(s),
  'JSON-escaped twice (a JSON string inside a JSON string)': (s) => JSON.stringify(JSON.stringify(s)),
  encodeURIComponent: (s) => encodeURIComponent(s),
  'form encoding with +': (s) => new URLSearchParams({ v: s }).toString().slice(2),
  encodeURI: (s) => encodeURI(s),
  base64: (s) => b64(s),
  'base64 url-safe': (s) => b64url(s),
  'base64 of user:secret (basic auth)': (s) => b64(`user:${s}`),
  'base64 of ab:secret (second alignment)': (s) => b64(`ab:${s}`),
  'base64 of abc:secret (third alignment), url-safe': (s) => b64url(`abc:${s}`),
  'base64 wrapped at 4 characters': (s) => (b64(s).match(/.{1,4}/g) ?? []).join('\n'),
  hex: (s) => Buffer.from(s, 'utf8').toString('hex'),
  'hex in upper case': (s) => Buffer.from(s, 'utf8').toString('hex').toUpperCase(),
  'upper case': (s) => s.toUpperCase(),
  'lower case': (s) => s.toLowerCase(),
  're-spaced (whitespace collapsed)': (s) => s.replace(/\s+/g, ''),
  're-spaced (spaces between every character)': (s) => [...s].join(' '),
  're-spaced (newlines and tabs)': (s) => s.replace(/ /g, '\n\t  '),
  'HTML-escaped': (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
  'backslash-escaped quotes': (s) => s.replace(/\\/g, '\\\\').replace(/'/g, '\\\'')
}

t.test('a secret is masked in every common shape, inside a longer upstream text', async (t) => {
  const scrubber = scrubberFor(SECRET)
  for (const [name, shape] of Object.entries(SHAPES)) {
    const encoded = shape(SECRET)
    const text = `{"status":422,"detail":"invalid value ${encoded.replace(/"/g, '\\"')} for field host","more":1}`
    const out = scrubber.scrub(text)
    t.notOk(out.includes(encoded) || out.includes(encoded.replace(/"/g, '\\"')), `${name}: the encoded value is gone`)
    t.ok(out.includes(MASK), `${name}: a mask replaces it`)
    t.ok(out.startsWith('{"status":422,"detail":"invalid value '), `${name}: the text around it is kept`)
  }
})

t.test('a secret cut short at the end of a truncated text is masked', async (t) => {
  const secret = 'sandbox-db-password'
  const scrubber = scrubberFor(secret)
  for (const cut of [CUT_MIN, 9, secret.length - 1]) {
    const prefix = secret.slice(0, cut)
    for (const text of [`error: host ${prefix}`, `error: host ${prefix}...`, `error: host ${prefix}\u2026`, `{"message":"host '${prefix}"}`, `host=${JSON.stringify(prefix)}, port=5432`]) {
      const out = scrubber.scrub(text)
      t.notOk(out.includes(prefix), `prefix of ${cut} in ${JSON.stringify(text)} -> ${JSON.stringify(out)}`)
    }
  }
  const encodedCut = encodeURIComponent('p@ss/word-12345').slice(0, 10)
  t.notOk(scrubberFor('p@ss/word-12345').scrub(`q=${encodedCut}`).includes(encodedCut), 'an encoded value cut short too')
})

t.test('a text starting mid-secret (cut from the left) loses that suffix', async (t) => {
  const secret = 'sandbox-db-password'
  const out = scrubberFor(secret).scrub(`...${secret.slice(4)} was rejected`)
  t.equal(out, `...${MASK} was rejected`)
})

t.test('ordinary words that merely share a few letters with a secret are left alone', async (t) => {
  const scrubber = scrubberFor('sandbox-db-password')
  for (const text of ['the sandbox is ready', 'connect to the db', 'password is required', 'sandb']) {
    t.equal(scrubber.scrub(text), text)
  }
})

t.test('several secrets, overlapping matches and a text of only the secret', async (t) => {
  const scrubber = scrubberFor('first-secret-1', 'secret-1-second')
  t.equal(scrubber.scrub('first-secret-1-second'), MASK)
  t.equal(scrubber.scrub('a first-secret-1 b secret-1-second c'), `a ${MASK} b ${MASK} c`)
})

t.test('scrubDeep masks strings, keys and numbers equal to a secret, and keeps the structure', async (t) => {
  const scrubber = scrubberFor('s3cret-value', '12345678')
  const out = scrubber.scrubDeep({ host: 's3cret-value', nested: [{ 's3cret-value': 'x' }, 'url=s3cret-value'], port: 12345678, ok: true, n: 5 })
  t.same(out, { host: MASK, nested: [{ [MASK]: 'x' }, `url=${MASK}`], port: MASK, ok: true, n: 5 })
})

t.test('values under 4 characters are not registered (masking them would mask ordinary text)', async (t) => {
  const scrubber = scrubberFor('abc')
  t.equal(scrubber.size, 0)
  t.equal(scrubber.scrub('abc abc'), 'abc abc')
})

t.test('text with characters whose lower case changes length keeps its offsets right', async (t) => {
  const scrubber = scrubberFor('plain-secret-42')
  t.equal(scrubber.scrub('\u0130\u0130 plain-secret-42 \u0130'), `\u0130\u0130 ${MASK} \u0130`)
})

t.test('property: for any secret of 8+ characters and any shape, the shape never survives scrubbing', async (t) => {
  const shapes = Object.entries(SHAPES)
  fc.assert(fc.property(
    fc.string({ minLength: 8, maxLength: 40, unit: 'grapheme-ascii' }).filter((s) => s.trim().length >= 8 && /[A-Za-z0-9]{3}/.test(s)),
    fc.integer({ min: 0, max: shapes.length - 1 }),
    fc.string({ maxLength: 20, unit: 'grapheme-ascii' }),
    (secret, i, around) => {
      const [name, shape] = shapes[i] as [string, (s: string) => string]
      const encoded = shape(secret)
      const out = new SecretScrubber()
      out.add(secret)
      const scrubbed = out.scrub(`${around} ${encoded} ${around}`)
      if (scrubbed.includes(encoded)) throw new Error(`${name} of ${JSON.stringify(secret)} survived: ${scrubbed}`)
    }
  ), { numRuns: 400 })
  t.pass('no shape survived')
})

t.test('a text scrubbed before a value was registered is scrubbed afresh after', async t => {
  const scrubber = new SecretScrubber()
  scrubber.add('first-secret-value')
  const text = 'connect with late-secret-value now'
  t.equal(scrubber.scrub(text), text, 'nothing to mask yet (and the answer is remembered)')
  t.equal(scrubber.scrub(text), text)
  scrubber.add('late-secret-value')
  t.equal(scrubber.scrub(text), 'connect with [redacted] now', 'the remembered answer was dropped with the new value')
})

t.test('remembered answers are bounded: many distinct texts are all scrubbed right', async t => {
  const scrubber = new SecretScrubber()
  scrubber.add('bounded-secret-1')
  for (let i = 0; i < 10_000; i++) {
    const text = `item ${i} bounded-secret-1`
    if (scrubber.scrub(text) !== `item ${i} [redacted]`) { t.fail(`text ${i}`); return }
  }
  t.pass('10,000 distinct texts')
})
