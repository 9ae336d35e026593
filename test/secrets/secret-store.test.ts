import t from 'tap'
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DescriptorInvalidError } from '../../src/errors.js'
import { MASK } from '../../src/secrets/secret-scrubber.js'
import { reverseScopeOf, secretNameFrom, secretScopeOf, type SecretScope } from '../../src/secrets/secret-scope.js'
import { createSecretStore, resolveSecretRefs, secretsToPlaceholders } from '../../src/secrets/secret-store.js'

function write (path: string, value: string): void {
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, `${value}\n`)
}

/** A store: finance (shared), finance/cashflow (one data product), hr, and a service credential outside it. */
function fixture (): { root: string, dir: string, outside: string } {
  const root = mkdtempSync(join(tmpdir(), 'secret-store-'))
  const dir = join(root, 'descriptor')
  write(join(dir, 'finance', 'warehouse-password'), 'finance-shared-warehouse')
  write(join(dir, 'finance', 'orders-db-password'), 'finance-domain-orders-db')
  write(join(dir, 'finance', 'cashflow', 'orders-db-password'), 'cashflow-only-orders-db')
  write(join(dir, 'hr', 'payroll-password'), 'hr-payroll-password-1')
  write(join(dir, 'finance', 'short'), 'abc1234')
  const outside = join(root, 'service', 'airbyte-client-secret')
  write(outside, 'the-service-client-secret')
  return { root, dir, outside }
}

function thrown (fn: () => unknown): Error {
  try { fn() } catch (err) { return err as Error }
  throw new Error('expected a throw')
}

const cashflow: SecretScope = { domain: 'finance', dataProduct: 'cashflow', dataProductId: 'urn:dmb:dp:finance:cashflow:0' }
const treasury: SecretScope = { domain: 'finance', dataProduct: 'treasury', dataProductId: 'urn:dmb:dp:finance:treasury:0' }

t.test('a data product reads its own secret first, then its domain\'s; never another domain\'s', async (t) => {
  const { dir } = fixture()
  const store = createSecretStore({ dir })
  t.same(store.lookup('orders-db-password', cashflow), { kind: 'found', value: 'cashflow-only-orders-db' }, 'most specific first')
  t.same(store.lookup('orders-db-password', treasury), { kind: 'found', value: 'finance-domain-orders-db' }, 'another data product of the domain gets the shared one')
  t.same(store.lookup('warehouse-password', cashflow), { kind: 'found', value: 'finance-shared-warehouse' })
  t.same(store.lookup('payroll-password', cashflow), { kind: 'not-granted' }, 'another domain\'s secret is not granted')
  t.same(store.lookup('payroll-password', { domain: 'hr' }), { kind: 'found', value: 'hr-payroll-password-1' })
})

t.test('environment variables follow the same layout and only DESCRIPTOR_SECRET_* are read', async (t) => {
  const store = createSecretStore({
    env: {
      DESCRIPTOR_SECRET_FINANCE__CASHFLOW__API_KEY: 'cashflow-api-key-1',
      DESCRIPTOR_SECRET_FINANCE__API_KEY: 'finance-api-key-11',
      AIRBYTE_CLIENT_SECRET: 'service-secret-value',
      SECRET_API_KEY: 'legacy-unscoped-value'
    }
  })
  t.same(store.lookup('api-key', cashflow), { kind: 'found', value: 'cashflow-api-key-1' })
  t.same(store.lookup('api-key', treasury), { kind: 'found', value: 'finance-api-key-11' })
  t.same(store.lookup('api-key', { domain: 'hr' }), { kind: 'not-granted' })
  t.same(store.lookup('airbyte-client-secret', cashflow), { kind: 'not-granted' }, 'service variables are no source')
  t.same(store.list().map((s) => s.value).sort(), ['cashflow-api-key-1', 'finance-api-key-11'])
})

t.test('names that could leave the scope or the store are invalid, never looked up', async (t) => {
  const { dir } = fixture()
  const store = createSecretStore({ dir, env: { 'DESCRIPTOR_SECRET_FINANCE__..': 'finance-dot-dot-value' } })
  for (const name of ['../hr/payroll-password', '..', '.', '/etc/passwd', 'cashflow/orders-db-password', '%2e%2e%2fhr%2fpayroll-password',
    '%2e%2e', '.hidden', 'a..b', 'a/../b', 'a\\b', '', 'x'.repeat(254), 'name\u0000', ' orders-db-password']) {
    t.same(store.lookup(name, cashflow), { kind: 'invalid-name' }, JSON.stringify(name))
  }
  t.same(store.lookup('payroll-password', { domain: '..', dataProduct: 'hr' }), { kind: 'invalid-name' }, 'a scope part is checked too')
  t.same(store.lookup('payroll-password', { domain: 'finance', dataProduct: '../hr' }), { kind: 'invalid-name' })
})

t.test('a symlink may point inside the store (Kubernetes ..data links) but not out of it', async (t) => {
  const { dir, outside } = fixture()
  symlinkSync(outside, join(dir, 'finance', 'stolen'))
  symlinkSync(join(dir, 'finance', 'warehouse-password'), join(dir, 'finance', 'cashflow', 'linked'))
  symlinkSync(join(dir, 'hr'), join(dir, 'finance', 'hr-link'))
  const store = createSecretStore({ dir })
  t.same(store.lookup('stolen', cashflow), { kind: 'not-granted' }, 'a link to a service credential is not followed')
  t.same(store.lookup('linked', cashflow), { kind: 'found', value: 'finance-shared-warehouse' })
  t.notOk(store.list().some((s) => s.value === 'the-service-client-secret'), 'listing does not follow it either')
})

t.test('a value too short to scrub safely is refused, and is not registered with the scrubber', async (t) => {
  const { dir } = fixture()
  const store = createSecretStore({ dir })
  t.same(store.lookup('short', cashflow), { kind: 'too-short' })
  t.notOk(store.scrubber.knows('abc1234'))
  const err = thrown(() => resolveSecretRefs({ password: '${secret:short}' }, store, { id: 'urn:dmb:dp:finance:cashflow:0', domain: 'finance' }))
  t.ok(err instanceof DescriptorInvalidError)
  t.match(err.message, /password: secret "short" is shorter than 8 characters/)
  t.notOk(err.message.includes('abc1234'))
})

t.test('a descriptor secret equal to a service credential is refused, naming the secret and not the value', async (t) => {
  const { dir } = fixture()
  write(join(dir, 'finance', 'copied'), 'the-service-client-secret')
  const store = createSecretStore({ dir, serviceCredentials: () => ['the-service-client-secret'] })
  t.same(store.lookup('copied', cashflow), { kind: 'service-credential' })
  const err = thrown(() => resolveSecretRefs({ host: '${secret:copied}' }, store, { id: 'urn:dmb:dp:finance:cashflow:0' }))
  t.ok(err instanceof DescriptorInvalidError)
  t.match(err.message, /host: secret "copied" has the same value as one of this service's own credentials/)
  t.notOk(err.message.includes('the-service-client-secret'))
  t.notOk(store.list().some((s) => s.name === 'copied'), 'not listed as usable')
})

t.test('resolution is scoped by the data product of the descriptor and names the secret and the data product', async (t) => {
  const { dir } = fixture()
  const store = createSecretStore({ dir })
  const resolved = resolveSecretRefs({ a: ['${secret:orders-db-password}'], b: 'plain' }, store, { id: 'urn:dmb:dp:finance:cashflow:0', domain: 'finance' })
  t.same(resolved, { a: ['cashflow-only-orders-db'], b: 'plain' })
  t.ok(store.scrubber.knows('cashflow-only-orders-db'), 'a resolved value is registered with the scrubber')
  t.throws(() => resolveSecretRefs({ c: { host: '${secret:payroll-password}' } }, store, { id: 'urn:dmb:dp:finance:cashflow:0' }), {
    message: 'c.host: secret "payroll-password" is not granted to data product urn:dmb:dp:finance:cashflow:0 (domain finance)'
  })
})

t.test('the scope comes from the data product URN; a disagreeing domain field or an unusable id is a problem', async (t) => {
  t.same(secretScopeOf({ id: 'urn:dmb:dp:finance:cashflow:0', domain: 'finance' }), { scope: { domain: 'finance', dataProduct: 'cashflow', dataProductId: 'urn:dmb:dp:finance:cashflow:0' } })
  t.same(secretScopeOf({ id: 'urn:dmb:dp:finance:cashflow:0', domain: 'urn:dmb:dmn:finance' }), { scope: { domain: 'finance', dataProduct: 'cashflow', dataProductId: 'urn:dmb:dp:finance:cashflow:0' } })
  t.match(secretScopeOf({ id: 'urn:dmb:dp:finance:cashflow:0', domain: 'hr' }), { problem: /names domain finance, but its domain field says hr/ })
  t.same(secretScopeOf({ id: 'marketing.campaigns', domain: 'marketing' }), { scope: { domain: 'marketing', dataProductId: 'marketing.campaigns' } }, 'a non-URN id gets domain grants only')
  t.match(secretScopeOf({ id: 'urn:dmb:dp:..:x:0' }), { problem: /cannot name a secret scope/ })
  t.match(secretScopeOf({ id: 'x', domain: '../hr' }), { problem: /cannot name a secret scope/ })
})

t.test('reverse provisioning finds its scope in params or catalog-info, and none when hints disagree', async (t) => {
  t.same(reverseScopeOf({ dataProductId: 'urn:dmb:dp:finance:cashflow:0' }, {}), { domain: 'finance', dataProduct: 'cashflow' })
  t.same(reverseScopeOf({}, { spec: { domain: 'domain:finance' } }), { domain: 'finance', dataProduct: undefined })
  t.same(reverseScopeOf({}, { spec: { mesh: { id: 'urn:dmb:cmp:finance:cashflow:0:ingest' } } }), { domain: 'finance', dataProduct: 'cashflow' })
  t.equal(reverseScopeOf({ domain: 'hr' }, { spec: { domain: 'finance' } }), undefined)
  t.equal(reverseScopeOf({}, {}), undefined)
})

t.test('a configuration value equal to a known secret becomes its placeholder; the rest is left alone', async (t) => {
  const { dir } = fixture()
  const store = createSecretStore({ dir })
  const known = store.list('finance', 'cashflow')
  t.equal(known[0]?.value, 'cashflow-only-orders-db', 'the data product\'s own come first')
  const out = secretsToPlaceholders({ host: 'cashflow-only-orders-db', other: 'finance-shared-warehouse', port: 5432, list: [' finance-shared-warehouse '] }, known)
  t.same(out, { host: '${secret:orders-db-password}', other: '${secret:warehouse-password}', port: 5432, list: ['${secret:warehouse-password}'] })
  t.equal(store.scrubber.scrub('jdbc:x?password=hr-payroll-password-1'), 'jdbc:x?password=hr-payroll-password-1', 'listing one domain registers only it')
  store.list()
  t.equal(store.scrubber.scrub('jdbc:x?password=hr-payroll-password-1'), `jdbc:x?password=${MASK}`, 'listing all registers every value')
})

t.test('placeholder names built from configuration paths are valid secret names', async (t) => {
  t.equal(secretNameFrom(['my-conn-source-tunnel_method', 'ssh key']), 'my-conn-source-tunnel-method.ssh-key')
  t.equal(secretNameFrom(['..', '/etc/passwd']), 'etc-passwd')
  t.equal(secretNameFrom(['']), 'secret')
})
