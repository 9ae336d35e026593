/**
 * The kustomization files of deploy/kubernetes read as data: what each one includes (resources, patches,
 * components, generator inputs), so a test can check that every reference exists, that every YAML file is used,
 * and, without kubectl, that each patch lands on an object the overlay really has. Rendering itself is
 * `kubectl kustomize`'s job (kubectlRender), not re-implemented here.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { readManifests, type Obj } from './manifest-rules.js'

export interface Kustomization {
  dir: string
  kind: 'Kustomization' | 'Component'
  resources: string[]
  components: string[]
  /** Patch files (strategic merge or JSON 6902 given by path). */
  patchFiles: string[]
  /** Inline patches with a target. */
  inlinePatches: Array<{ target: Obj, patch: string }>
  /** Files read by secretGenerator / configMapGenerator. */
  generatorFiles: string[]
  /** Secret and ConfigMap names the generators produce. */
  generated: Obj[]
}

export function yamlFilesUnder (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) out.push(...yamlFilesUnder(path))
    else if (/\.ya?ml$/.test(entry)) out.push(path)
  }
  return out.sort()
}

export function readKustomization (dir: string): Kustomization {
  const [doc] = readManifests(join(dir, 'kustomization.yaml'))
  if (doc === undefined) throw new Error(`${dir}/kustomization.yaml is empty`)
  const at = (p: string): string => join(dir, p)
  const generatorFiles: string[] = []
  const generated: Obj[] = []
  for (const [field, kind] of [['secretGenerator', 'Secret'], ['configMapGenerator', 'ConfigMap']] as const) {
    for (const g of (doc[field] ?? []) as Obj[]) {
      generated.push({ apiVersion: 'v1', kind, metadata: { name: g.name } })
      // `key=path` or `path`.
      for (const f of (g.files ?? []) as string[]) generatorFiles.push(at(f.includes('=') ? f.slice(f.indexOf('=') + 1) : f))
      for (const f of (g.envs ?? []) as string[]) generatorFiles.push(at(f))
    }
  }
  const patches = (doc.patches ?? []) as Obj[]
  return {
    dir,
    kind: doc.kind === 'Component' ? 'Component' : 'Kustomization',
    resources: ((doc.resources ?? []) as string[]).map(at),
    components: ((doc.components ?? []) as string[]).map(at),
    patchFiles: patches.filter(p => typeof p.path === 'string').map(p => at(p.path as string)),
    inlinePatches: patches.filter(p => typeof p.patch === 'string').map(p => ({ target: (p.target ?? {}) as Obj, patch: p.patch as string })),
    generatorFiles,
    generated
  }
}

/** Paths a kustomization names that do not exist. */
export function missingReferences (k: Kustomization): string[] {
  return [...k.resources, ...k.components, ...k.patchFiles, ...k.generatorFiles].filter(p => !existsSync(p))
}

/**
 * The objects an overlay is made of before patching: its resource files and, recursively, those of the
 * kustomizations it includes, plus what its generators produce. Components add theirs when given.
 */
export function sourceObjects (dir: string, components: string[] = []): Obj[] {
  const k = readKustomization(dir)
  const out: Obj[] = [...k.generated]
  for (const r of k.resources) {
    if (statSync(r).isDirectory()) out.push(...sourceObjects(r))
    else out.push(...readManifests(r))
  }
  for (const c of [...k.components, ...components]) out.push(...sourceObjects(c))
  return out
}

const sameId = (a: Obj, b: Obj): boolean => a.kind === b.kind && a.metadata?.name === b.metadata?.name

/** Patches of a kustomization (and of the components given) that name no object of what they patch. */
export function danglingPatches (dir: string, components: string[] = []): string[] {
  const objects = sourceObjects(dir, components)
  const problems: string[] = []
  for (const k of [readKustomization(dir), ...components.map(readKustomization)]) {
    for (const file of k.patchFiles) {
      for (const patch of readManifests(file)) {
        if (!objects.some(o => sameId(o, patch))) problems.push(`${relative(process.cwd(), file)}: patches ${String(patch.kind)}/${String(patch.metadata?.name)}, which the overlay does not have`)
      }
    }
    for (const { target, patch } of k.inlinePatches) {
      const hits = objects.filter(o => (target.kind === undefined || o.kind === target.kind) && (target.name === undefined || o.metadata?.name === target.name))
      if (hits.length === 0) problems.push(`${relative(process.cwd(), k.dir)}: an inline patch targets ${JSON.stringify(target)}, which matches nothing`)
      // A JSON 6902 replace needs the field to exist already.
      for (const op of parsePatchOps(patch)) {
        if (op.op !== 'replace') continue
        for (const o of hits) {
          if (pointerGet(o, op.path) === undefined) problems.push(`${relative(process.cwd(), k.dir)}: replace ${op.path} on ${String(o.kind)}/${String(o.metadata?.name)}, which has no such field`)
        }
      }
    }
  }
  return problems
}

/** The operations of a JSON 6902 patch (a YAML sequence); none for a strategic merge patch (an object). */
function parsePatchOps (text: string): Obj[] {
  const value: unknown = parseYaml(text)
  return Array.isArray(value) ? value as Obj[] : []
}

function pointerGet (o: Obj, pointer: string): unknown {
  let cur: unknown = o
  for (const part of pointer.split('/').slice(1).map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[part]
  }
  return cur
}

const run = promisify(execFile)

/** `kubectl kustomize` of a directory, or of a throwaway kustomization adding components to it. */
export async function kubectlRender (dir: string, components: string[] = []): Promise<string> {
  if (components.length === 0) return (await run('kubectl', ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 })).stdout
  const scratch = mkdtempSync(join(tmpdir(), 'kustomize-'))
  try {
    // kustomize accepts only relative paths to other kustomizations.
    const rel = (p: string): string => relative(scratch, p)
    writeFileSync(join(scratch, 'kustomization.yaml'), JSON.stringify({ resources: [rel(dir)], components: components.map(rel) }))
    return (await run('kubectl', ['kustomize', scratch], { maxBuffer: 16 * 1024 * 1024 })).stdout
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

export const kustomizationDirs = (root: string): string[] =>
  yamlFilesUnder(root).filter(f => /(^|\/)kustomization\.yaml$/.test(f)).map(dirname)
