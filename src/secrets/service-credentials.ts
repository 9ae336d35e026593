/**
 * The service's own credentials (every handler module's `credentialVariables`, the AUTH_* tokens), as far as the descriptor secret store must know them: to refuse a store directory
 * that overlaps a directory holding any of their `*_FILE` files, and to refuse a descriptor secret whose value
 * equals one of them. Generic on purpose, so a credential added later is covered without a change here: every
 * `*_FILE` variable names a credential file, and every variable whose name ends in SECRET, PASSWORD, TOKEN(S),
 * KEY or CREDENTIALS holds a credential (except the descriptor store's own DESCRIPTOR_SECRET_* variables), and so
 * does every variable a handler module names as its credential, whatever its name.
 */
import { readFileSync, realpathSync } from 'node:fs'
import { dirname, relative, resolve, sep, isAbsolute } from 'node:path'
import { ENV_PREFIX } from './secret-scope.js'

const MAX_CREDENTIAL_FILE = 64 * 1024
const CREDENTIAL_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|TOKENS|API_KEY|PRIVATE_KEY|CREDENTIALS?)$/

export interface ServiceCredentials {
  /**
   * `*_FILE` variables and the files they name; `credential` when the variable is credential-named
   * (`<HANDLER>_..._SECRET_FILE`, AUTH_BEARER_TOKENS_FILE), whose content then counts as credential values.
   * Every file counts for the directory overlap check. `list` when the file is a list of tokens (a variable
   * ending in TOKENS_FILE, as AUTH_BEARER_TOKENS_FILE: `label token` per line), so only the tokens are values.
   */
  files: Array<{ variable: string, path: string, credential: boolean, list?: boolean }>
  /** Values given directly in credential-named variables. */
  values: string[]
}

/** `credentialVariables`: names the handler modules declare as credentials, beyond the credential-named ones. */
export function serviceCredentialsFrom (env: Record<string, string | undefined>, credentialVariables: readonly string[] = []): ServiceCredentials {
  const files: ServiceCredentials['files'] = []
  const values: string[] = []
  const declared = new Set(credentialVariables)
  const isCredential = (name: string): boolean => declared.has(name) || CREDENTIAL_NAME.test(name)
  for (const [variable, value] of Object.entries(env)) {
    if (value === undefined || value === '' || variable.startsWith(ENV_PREFIX)) continue
    if (variable.endsWith('_FILE')) {
      files.push({ variable, path: value, credential: isCredential(variable.slice(0, -'_FILE'.length)), list: variable.endsWith('TOKENS_FILE') })
    } else if (isCredential(variable)) values.push(value)
  }
  return { files, values }
}

/**
 * Every credential value, the files read now (a token file reloaded on change counts): each file's content and
 * each of its non-empty lines (one token per line).
 */
export function currentServiceCredentialValues (credentials: ServiceCredentials): string[] {
  const out = new Set(credentials.values)
  for (const { path, credential, list = false } of credentials.files) {
    if (!credential) continue
    let text: string
    try { text = readFileSync(path, 'utf8') } catch { continue }
    // A credential file is small; a large one (a CA bundle under a credential name) is not read line by line.
    if (text.length > MAX_CREDENTIAL_FILE) continue
    const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
    // In a list of tokens (`label token` per line, AUTH_BEARER_TOKENS_FILE) the label is a name, not a secret:
    // only the last field of each line is, however many lines there are (a whole line as a value would have the
    // scrubber mask its label, the caller's name in every log line, as a cut-short secret). Any other file is
    // one value (a password may hold spaces), and each of its lines one too.
    if (list) {
      for (const line of lines) out.add(line.split(/\s+/).pop() ?? line)
      continue
    }
    const whole = text.replace(/\r?\n$/, '')
    if (lines.length === 1 && whole !== '') out.add(whole)
    for (const line of lines) out.add(line)
  }
  return [...out]
}

/**
 * Problems (one per offending variable) when the descriptor secret directory is, contains, or is contained in a
 * directory holding a file named by a `*_FILE` variable. Paths are compared as given and with symlinks resolved.
 */
export function storeOverlapProblems (storeVariable: string, storeDir: string, files: ServiceCredentials['files']): string[] {
  const storeForms = forms(storeDir)
  const problems: string[] = []
  for (const { variable, path } of files) {
    const fileDirs = [...new Set([dirname(resolve(path)), ...realForm(path).map(dirname)])]
    const overlap = storeForms.some((s) => fileDirs.some((f) => within(s, f) || within(f, s)))
    if (overlap) {
      problems.push(`${storeVariable} (${storeDir}) overlaps the directory of ${variable} (${path}): descriptors could read the service's own credentials; keep descriptor secrets in a directory of their own, apart from every *_FILE credential`)
    }
  }
  return problems
}

function forms (path: string): string[] {
  return [...new Set([resolve(path), ...realForm(path)])]
}

function realForm (path: string): string[] {
  try { return [realpathSync(path)] } catch { return [] }
}

/** Is `inner` the same directory as `outer` or below it? */
function within (inner: string, outer: string): boolean {
  const rel = relative(outer, inner)
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))
}
