import t from 'tap'
import { normaliseRefs, toRef } from '../../src/descriptor/identity-refs.js'
import { DescriptorInvalidError } from '../../src/errors.js'

t.test('legacy acl and current refs normalise to one sorted set of refs', async t => {
  t.same(normaliseRefs({ acl: { users: ['alice@company.com', 'user:bob_company.com'], groups: ['analysts', 'group:ops'] } }),
    ['group:analysts', 'group:ops', 'user:alice_company.com', 'user:bob_company.com'])
  t.same(normaliseRefs({ refs: ['user:sergio.mejia_agilelab.it', 'group:dev', 'user:sergio.mejia_agilelab.it'] }), ['group:dev', 'user:sergio.mejia_agilelab.it'], 'duplicates collapse')
  t.same(normaliseRefs({}), [], 'no identities: revoke everyone')
})

t.test('the last @ of an e-mail becomes _', async t => {
  t.equal(toRef('we@ird@company.com', 'user'), 'user:we@ird_company.com')
})

t.test('a bare name in refs is refused: only the legacy lists say what their entries are', async t => {
  const err = t.throws(() => normaliseRefs({ refs: ['sergio.mejia_agilelab.it', 'group:dev'] })) as unknown as DescriptorInvalidError
  t.ok(err instanceof DescriptorInvalidError)
  t.same(err.problems.map(p => p.path), ['refs.0'])
  t.match(err.problems[0]?.message, /not an identity ref: expected user:<id> or group:<name>/)
})

t.test('malformed identity lists are 400 problems with paths', async t => {
  const err = t.throws(() => normaliseRefs({ refs: 'alice' as never, acl: { users: [1 as never] } })) as unknown as DescriptorInvalidError
  t.ok(err instanceof DescriptorInvalidError)
  t.same(err.problems.map(p => p.path), ['refs', 'acl.users.0'])
})
