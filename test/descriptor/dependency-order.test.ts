import t from 'tap'
import { orderByDependencies, type DependencyNode } from '../../src/descriptor/dependency-order.js'
import type { InputProblem } from '../../src/errors.js'

const all = (components: DependencyNode[]): Set<string> => new Set(components.flatMap((c) => c.id === undefined ? [] : [c.id]))

function levelsOf (components: DependencyNode[], scope = all(components)): string[][] {
  const result = orderByDependencies(components, scope)
  if ('problems' in result) throw new Error(`unexpected problems: ${JSON.stringify(result.problems)}`)
  return result.levels
}

function problemsOf (components: DependencyNode[], scope = all(components), prefix?: string): InputProblem[] {
  const result = orderByDependencies(components, scope, prefix)
  if ('levels' in result) throw new Error(`expected problems, got levels ${JSON.stringify(result.levels)}`)
  return result.problems
}

t.test('independent components share the first level, in descriptor order', async (t) => {
  t.same(levelsOf([{ id: 'b' }, { id: 'a', dependsOn: [] }, { id: 'c', dependsOn: null }]), [['b', 'a', 'c']])
})

t.test('a chain gives one level per component', async (t) => {
  t.same(levelsOf([{ id: 'c', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }, { id: 'a' }]), [['a'], ['b'], ['c']])
})

t.test('a diamond runs the two middle components in parallel', async (t) => {
  t.same(levelsOf([
    { id: 'sink', dependsOn: ['left', 'right'] },
    { id: 'left', dependsOn: ['source'] },
    { id: 'right', dependsOn: ['source'] },
    { id: 'source' }
  ]), [['source'], ['left', 'right'], ['sink']])
})

t.test('a component waits for its deepest dependency (longest path layering)', async (t) => {
  t.same(levelsOf([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['a', 'b'] }]), [['a'], ['b'], ['c']])
})

t.test('an empty scope orders nothing', async (t) => {
  t.same(levelsOf([{ id: 'a', dependsOn: ['zzz'] }], new Set()), [])
})

t.test('components outside the scope are not ordered and their own references are not checked', async (t) => {
  const components = [{ id: 'ours' }, { id: 'theirs', dependsOn: ['nowhere'] }]
  t.same(levelsOf(components, new Set(['ours'])), [['ours']])
})

t.test('a dependency on an out-of-scope component is ignored for ordering', async (t) => {
  const components = [{ id: 'ingest', dependsOn: ['storage'] }, { id: 'storage' }, { id: 'load' }]
  t.same(levelsOf(components, new Set(['ingest', 'load'])), [['ingest', 'load']])
})

t.test('order through an out-of-scope component is kept (A -> theirs -> B puts B first)', async (t) => {
  const components = [{ id: 'load', dependsOn: ['transform'] }, { id: 'transform', dependsOn: ['ingest'] }, { id: 'ingest' }]
  t.same(levelsOf(components, new Set(['load', 'ingest'])), [['ingest'], ['load']])
})

t.test('a dependsOn naming no component at all is a dangling dependency with its path', async (t) => {
  const problems = problemsOf([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a', 'ghost'] }])
  t.equal(problems.length, 1)
  t.equal(problems[0]?.path, 'components.2.dependsOn.1')
  t.match(problems[0]?.message, /dangling dependency: ghost/)
  t.match(problems[0]?.hint, /a, b, c/)
})

t.test('the path prefix is applied (COMPONENT_DESCRIPTOR paths)', async (t) => {
  const problems = problemsOf([{ id: 'a', dependsOn: ['ghost'] }], undefined, 'dataProduct.')
  t.equal(problems[0]?.path, 'dataProduct.components.0.dependsOn.0')
})

t.test('every dangling dependency is reported', async (t) => {
  const problems = problemsOf([{ id: 'a', dependsOn: ['x'] }, { id: 'b', dependsOn: ['y', 'a'] }])
  t.same(problems.map((p) => p.path), ['components.0.dependsOn.0', 'components.1.dependsOn.0'])
})

t.test('a two-component cycle names both components', async (t) => {
  const problems = problemsOf([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }, { id: 'c' }])
  t.equal(problems.length, 1)
  t.equal(problems[0]?.path, 'components.0.dependsOn.0')
  t.match(problems[0]?.message, /dependency cycle among a, b: a -> b -> a/)
  t.notMatch(problems[0]?.message, /\bc\b/, 'a component outside the cycle is not named')
})

t.test('a component depending on itself is a cycle', async (t) => {
  const problems = problemsOf([{ id: 'a', dependsOn: ['a'] }])
  t.equal(problems[0]?.path, 'components.0.dependsOn.0')
  t.match(problems[0]?.message, /a -> a/)
})

t.test('components downstream of a cycle are not reported as part of it', async (t) => {
  const problems = problemsOf([
    { id: 'down', dependsOn: ['x'] },
    { id: 'x', dependsOn: ['y'] },
    { id: 'y', dependsOn: ['z'] },
    { id: 'z', dependsOn: ['x'] }
  ])
  t.equal(problems.length, 1)
  t.match(problems[0]?.message, /among x, y, z: x -> y -> z -> x/)
  t.equal(problems[0]?.path, 'components.1.dependsOn.0')
})

t.test('two separate cycles are two problems', async (t) => {
  const problems = problemsOf([
    { id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] },
    { id: 'c', dependsOn: ['d'] }, { id: 'd', dependsOn: ['c'] }
  ])
  t.equal(problems.length, 2)
})

t.test('a cycle through another adapter\'s component is reported with it', async (t) => {
  const components = [{ id: 'ours', dependsOn: ['theirs'] }, { id: 'theirs', dependsOn: ['ours'] }]
  const problems = problemsOf(components, new Set(['ours']))
  t.match(problems[0]?.message, /ours -> theirs \(another adapter's\) -> ours/)
})

t.test('a cycle only among other adapters\' components is not ours to report', async (t) => {
  const components = [{ id: 'ours' }, { id: 'x', dependsOn: ['y'] }, { id: 'y', dependsOn: ['x'] }]
  t.same(levelsOf(components, new Set(['ours'])), [['ours']])
})

t.test('dangling dependencies and cycles are reported together', async (t) => {
  const problems = problemsOf([{ id: 'a', dependsOn: ['b', 'ghost'] }, { id: 'b', dependsOn: ['a'] }])
  t.same(problems.map((p) => p.path).sort(), ['components.0.dependsOn.0', 'components.0.dependsOn.1'])
})

t.test('a long chain is ordered without deep recursion trouble', async (t) => {
  const components: DependencyNode[] = []
  for (let i = 0; i < 2000; i++) components.push(i === 0 ? { id: 'c0' } : { id: `c${i}`, dependsOn: [`c${i - 1}`] })
  const levels = levelsOf(components)
  t.equal(levels.length, 2000)
  t.same(levels[1999], ['c1999'])
})

t.test('a very long cycle is found without recursion', async (t) => {
  const n = 30_000
  const components: DependencyNode[] = []
  for (let i = 0; i < n; i++) components.push({ id: `c${i}`, dependsOn: [`c${(i + 1) % n}`] })
  const problems = problemsOf(components)
  t.equal(problems.length, 1)
  t.match(problems[0]?.message, /^dependency cycle among c0, c1, /)
})

t.test('a very long chain through other adapters\' components is followed without recursion', async (t) => {
  const n = 30_000
  const components: DependencyNode[] = [{ id: 'first', dependsOn: ['x0'] }]
  for (let i = 0; i < n; i++) components.push({ id: `x${i}`, dependsOn: [i === n - 1 ? 'last' : `x${i + 1}`] })
  components.push({ id: 'last' })
  t.same(levelsOf(components, new Set(['first', 'last'])), [['last'], ['first']])
})
