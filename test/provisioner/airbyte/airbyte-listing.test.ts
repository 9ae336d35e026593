import t from 'tap'
import { WorkspaceListings, type Listed } from '../../../src/provisioner/airbyte/airbyte-listing.js'

interface Item extends Listed { id: string }
const WS = 'ws-1'
const items = (n: number): Item[] => Array.from({ length: n }, (_, i) => ({ id: `id-${i}`, name: `name-${i}`, createdAt: i }))

function listings (): { l: WorkspaceListings, clock: { now: number } } {
  const clock = { now: 1_000 }
  return { l: new WorkspaceListings(10_000, () => clock.now), clock }
}

t.test('concurrent lookups in one workspace share one load', async t => {
  const { l } = listings()
  let loads = 0
  const load = async (): Promise<Item[]> => { loads++; return items(100) }
  const found = await Promise.all(Array.from({ length: 20 }, async (_, i) => await l.find<Item>({ collection: 'sources', workspaceId: WS, name: `name-${i}`, load, idOf: (r) => r.id })))
  t.equal(loads, 1)
  t.same(found.map((f) => f.found?.resource.id), Array.from({ length: 20 }, (_, i) => `id-${i}`))
  t.equal(found[0]?.total, 100)
})

t.test('a lookup looks at the resources of its name only, whatever the size of the workspace', async t => {
  const { l } = listings()
  let checked = 0
  const live = (): boolean => { checked++; return true }
  const load = async (): Promise<Item[]> => [...items(10_000), { id: 'dup-old', name: 'name-5', createdAt: -1 }]
  const { found } = await l.find<Item>({ collection: 'sources', workspaceId: WS, name: 'name-5', load, idOf: (r) => r.id, live })
  t.equal(found?.resource.id, 'dup-old', 'the oldest of two with the name')
  t.equal(found?.count, 2)
  t.equal(checked, 2, 'two candidates checked, not 10,001')
})

t.test('own creates and deletes keep the listing current; a delete is found under any name', async t => {
  const { l } = listings()
  let loads = 0
  const load = async (): Promise<Item[]> => { loads++; return items(3) }
  const find = async (name: string): Promise<string | undefined> => (await l.find<Item>({ collection: 'sources', workspaceId: WS, name, load, idOf: (r) => r.id })).found?.resource.id
  t.equal(await find('new'), undefined)
  l.added('sources', WS, { id: 'id-new', name: 'new', createdAt: 10 } as Item)
  t.equal(await find('new'), 'id-new')
  l.removed<Item>('sources', WS, (r) => r.id, 'id-1')
  t.equal(await find('name-1'), undefined)
  t.equal((await l.find<Item>({ collection: 'sources', workspaceId: WS, name: 'x', load, idOf: (r) => r.id })).total, 3, '3 + 1 created - 1 deleted')
  t.equal(loads, 1)
})

t.test('a listing expires after its time, a fresh lookup reloads, and a failed load is not served', async t => {
  const { l, clock } = listings()
  let loads = 0
  let fail = false
  const load = async (): Promise<Item[]> => { loads++; if (fail) throw new Error('Airbyte down'); return items(2) }
  const find = async (fresh = false): Promise<unknown> => await l.find<Item>({ collection: 'sources', workspaceId: WS, name: 'name-0', load, idOf: (r) => r.id, fresh })
  await find()
  clock.now += 10_000
  await find()
  t.equal(loads, 2, 'expired: loaded again')
  await find(true)
  t.equal(loads, 3, 'fresh: loaded again')
  fail = true
  await t.rejects(find(true), /Airbyte down/)
  fail = false
  await find()
  t.equal(loads, 5, 'the failed load was dropped, not served')
})
