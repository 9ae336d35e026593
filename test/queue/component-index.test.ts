import t from 'tap'
import type { DataProduct } from '../../src/descriptor/types.js'
import { componentById } from '../../src/queue/component-index.js'

function product (ids: string[]): DataProduct {
  return { id: 'urn:dmb:dp:finance:orders:0', components: ids.map(id => ({ id, name: `n-${id}` })) } as unknown as DataProduct
}

t.test('finds a component and its position by id, the first one when an id repeats', async t => {
  const dp = product(['a', 'b', 'a', 'c'])
  t.same(componentById(dp, 'b'), { component: dp.components[1], index: 1 })
  t.equal(componentById(dp, 'a')?.index, 0)
  t.equal(componentById(dp, 'c')?.component.name, 'n-c')
  t.equal(componentById(dp, 'missing'), undefined)
})

t.test('each data product has its own index', async t => {
  const one = product(['x'])
  const two = product(['y'])
  t.equal(componentById(one, 'x')?.index, 0)
  t.equal(componentById(two, 'x'), undefined)
  t.equal(componentById(two, 'y')?.index, 0)
})

t.test('a data product of 50,000 components is indexed once, not searched per lookup', async t => {
  const ids = Array.from({ length: 50_000 }, (_, i) => `c${i}`)
  const dp = product(ids)
  let reads = 0
  const counted = new Proxy(dp.components, {
    get (target, key, receiver) { if (key === 'entries') reads++; return Reflect.get(target, key, receiver) }
  })
  const tracked = { ...dp, components: counted } as DataProduct
  const wrong = ids.filter(id => componentById(tracked, id)?.index !== Number(id.slice(1)))
  t.same(wrong, [], 'every id found at its position')
  t.equal(reads, 1, 'the component list is walked once for every lookup of the task')
})
