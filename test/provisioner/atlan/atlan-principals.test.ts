import t from 'tap'
import { ConfigError } from '../../../src/errors.js'
import { createAtlanClient } from '../../../src/provisioner/atlan/atlan-client.js'
import { lookupMapper, mapPrincipals, parsePrincipalTable, refToEmail, tableMapper } from '../../../src/provisioner/atlan/atlan-principals.js'
import { memoryRateGate } from '../../../src/provisioner/atlan/atlan-rate-limit.js'
import { startAtlanSimulator } from '../../../src/sandbox/atlan/atlan-simulator.js'

t.test('a user ref is the e-mail with its last @ replaced by _', async t => {
  t.equal(refToEmail('user:jane.doe_company.com'), 'jane.doe@company.com')
  t.equal(refToEmail('user:first_last_sub.company.com'), 'first_last@sub.company.com')
  t.equal(refToEmail('user:nodomain'), undefined)
})

t.test('lookup: users by e-mail, groups by name or alias, the rest reported by name', async t => {
  const sim = await startAtlanSimulator({ users: [{ username: 'dup1', email: 'dup@company.com' }, { username: 'dup2', email: 'dup@company.com' }] })
  t.teardown(sim.close)
  const client = createAtlanClient({ url: sim.url, auth: { auth: 'api_token', apiToken: sim.apiToken }, requestTimeoutMs: 5000, retries: 1, retryBaseMs: 5 }, { gate: memoryRateGate(1000) })
  const mapped = await mapPrincipals(lookupMapper(client), [
    'user:jane.doe_company.com', 'group:datameshplatform', 'group:analysts', 'user:ghost_company.com', 'group:nobody', 'user:dup_company.com'
  ])
  t.same(mapped.users, ['jane.doe'])
  t.same(mapped.groups, ['analysts', 'data_mesh_platform'])
  t.same(mapped.unmapped, ['user:ghost_company.com', 'group:nobody', 'user:dup_company.com'], 'an ambiguous e-mail maps to nobody')
})

t.test('table: the file decides, with or without prefixes', async t => {
  const table = parsePrincipalTable(`
users:
  jane.doe_company.com: jdoe
groups:
  group:analysts: analysts_internal
user:bob_company.com: bob
`)
  const mapped = await mapPrincipals(tableMapper(table), ['user:jane.doe_company.com', 'user:bob_company.com', 'group:analysts', 'group:other'])
  t.same(mapped, { users: ['bob', 'jdoe'], groups: ['analysts_internal'], unmapped: ['group:other'] })
  t.throws(() => parsePrincipalTable('users: [a, b]'), ConfigError)
  t.throws(() => parsePrincipalTable('somebody: x'), /neither users, groups nor an identity ref/)
  t.throws(() => parsePrincipalTable('users:\n  a_b.c: 42'), /must map to an Atlan username/)
})
