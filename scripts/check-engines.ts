/**
 * CI check that the Node range this project promises (package.json `engines.node`) is one its runtime dependencies
 * support: for every package of the installed production tree, the project's range must lie inside the package's own
 * `engines.node` (semver.subset). A dependency that asks for a newer Node than we claim is printed and fails the run,
 * as do a Node running this script or a Dockerfile base image outside the promised range.
 *
 * Usage: npx tsx scripts/check-engines.ts   (after npm ci; reads `npm ls --omit=dev --all`)
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import semver from 'semver'

interface LsNode { version?: string, path?: string, missing?: boolean, dependencies?: Record<string, LsNode> }
interface Manifest { name?: string, version?: string, engines?: { node?: unknown } }

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest

const project = readManifest(ROOT)
const range = typeof project.engines?.node === 'string' ? project.engines.node : undefined
if (range === undefined || semver.validRange(range) === null) {
  console.error(`engines: package.json has no valid engines.node (got ${JSON.stringify(project.engines?.node)})`)
  process.exit(1)
}

// `npm ls` exits non-zero for problems such as missing optional platform packages; its JSON is still complete.
let listing: string
try {
  listing = execFileSync('npm', ['ls', '--omit=dev', '--all', '--json', '--long'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] })
} catch (err) {
  listing = String((err as { stdout?: unknown }).stdout ?? '')
}
const tree = JSON.parse(listing) as LsNode

const dirs = new Set<string>()
const walk = (node: LsNode): void => {
  for (const child of Object.values(node.dependencies ?? {})) {
    // Deduped entries repeat a package already listed; missing ones are optional packages for other platforms.
    if (child.path !== undefined && child.missing !== true && !dirs.has(child.path) && existsSync(join(child.path, 'package.json'))) {
      dirs.add(child.path)
      walk(child)
    }
  }
}
walk(tree)

const offenders: string[] = []
let declaring = 0
for (const dir of [...dirs].sort()) {
  const manifest = readManifest(dir)
  const theirs = manifest.engines?.node
  if (typeof theirs !== 'string' || theirs.trim() === '') continue
  declaring++
  const id = `${manifest.name ?? dir}@${manifest.version ?? '?'}`
  if (semver.validRange(theirs) === null) offenders.push(`${id}: engines.node ${JSON.stringify(theirs)} is not a valid range`)
  else if (!semver.subset(range, theirs)) offenders.push(`${id} (${dir.slice(ROOT.length)}) asks for node ${theirs}`)
}

if (!semver.satisfies(process.version, range)) offenders.push(`this Node ${process.version} is outside engines.node`)
const dockerfile = join(ROOT, 'Dockerfile')
if (existsSync(dockerfile)) {
  for (const match of readFileSync(dockerfile, 'utf8').matchAll(/^FROM\s+node:(\d+)(?:\.(\d+))?(?:\.(\d+))?\S*/gm)) {
    const version = `${match[1] ?? '0'}.${match[2] ?? '0'}.${match[3] ?? '0'}`
    if (!semver.satisfies(version, range)) offenders.push(`Dockerfile base image ${match[0].slice(5)} is outside engines.node`)
  }
}

console.log(`engines: node ${range} checked against ${dirs.size} production packages (${declaring} declare engines.node), running on ${process.version}: ${offenders.length} offenders`)
for (const offender of offenders) console.log(`  ${offender}`)
process.exit(offenders.length === 0 ? 0 : 1)
