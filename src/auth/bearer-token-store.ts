/**
 * The accepted bearer tokens, loaded from AUTH_BEARER_TOKENS_FILE and kept current: a change is picked up from
 * `fs.watch` on the file's directory and, as a fallback, a periodic re-read (Kubernetes replaces a mounted Secret
 * by swapping a `..data` symlink, which watchers on the file itself miss). Only SHA-256 digests are held; a
 * presented token is compared against every one of them in constant time.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createHash, timingSafeEqual } from 'node:crypto'
import { basename, dirname } from 'node:path'
import { ConfigError } from '../errors.js'
import { parseTokenFile, tokenDigest, type TokenEntry } from './bearer-token-file.js'

export interface BearerTokenStoreOptions {
  /** Path of the tokens file (AUTH_BEARER_TOKENS_FILE). */
  file?: string
  /** Period of the fallback re-read, ms. */
  reloadMs: number
  /** Where reloads and their problems are reported (never with a token). */
  log: (level: 'info' | 'warn', message: string) => void
}

const HOW_TO_FIX = 'Set AUTH_BEARER_TOKENS_FILE to a readable file with at least one token (one per line, "label token"), ' +
  'or choose another AUTH_MODE (jwt, or none to let anyone in).'

function refuse (problem: string): never {
  throw new ConfigError(`invalid configuration:\n  - AUTH_MODE=bearer: ${problem}. ${HOW_TO_FIX}`)
}

export class BearerTokenStore {
  private entries: TokenEntry[]
  private contentHash: string
  private watcher?: FSWatcher
  private readonly timer: NodeJS.Timeout
  private debounce?: NodeJS.Timeout
  private reloading = Promise.resolve()
  private closed = false

  /** Loads the file now; throws ConfigError (naming AUTH_MODE and AUTH_BEARER_TOKENS_FILE) when it yields no token. */
  constructor (private readonly opts: BearerTokenStoreOptions) {
    const file = opts.file
    if (file === undefined) refuse('AUTH_BEARER_TOKENS_FILE is not set')
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      refuse(`AUTH_BEARER_TOKENS_FILE cannot be read (${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    const parsed = parseTokenFile(text)
    if (parsed.problems.length > 0) refuse(`AUTH_BEARER_TOKENS_FILE (${file}) has invalid lines: ${parsed.problems.join('; ')}`)
    if (parsed.entries.length === 0) refuse(`AUTH_BEARER_TOKENS_FILE (${file}) holds no token`)
    this.entries = parsed.entries
    this.contentHash = hashOf(text)
    try {
      // The directory, not the file: an atomic replace (rename) or a symlink swap gives the file a new inode.
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name === null || name === basename(file) || name.startsWith('..')) this.scheduleReload()
      })
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined })
      this.watcher.unref()
    } catch {
      // Some filesystems cannot be watched; the periodic re-read still picks changes up.
    }
    this.timer = setInterval(() => { this.scheduleReload() }, opts.reloadMs)
    this.timer.unref()
  }

  get size (): number { return this.entries.length }

  /**
   * The label of the entry matching `token`, if any. Every stored digest is compared, matched or not, so the time
   * taken says nothing about which (or whether an) entry matched.
   */
  match (token: string): string | undefined {
    const candidate = tokenDigest(token)
    let found: string | undefined
    for (const entry of this.entries) {
      const equal = timingSafeEqual(entry.digest, candidate)
      if (equal && found === undefined) found = entry.label
    }
    return found
  }

  /** Re-reads the file now; resolves once the result is in effect. Used by the watcher, the timer and tests. */
  async reload (): Promise<void> {
    this.reloading = this.reloading.then(async () => { await this.readAndApply() })
    await this.reloading
  }

  close (): void {
    this.closed = true
    clearInterval(this.timer)
    clearTimeout(this.debounce)
    this.watcher?.close()
  }

  private scheduleReload (): void {
    if (this.closed) return
    clearTimeout(this.debounce)
    // Writers often truncate then write: wait for the burst of events to settle.
    this.debounce = setTimeout(() => { this.reload().catch(() => {}) }, 25)
    this.debounce.unref()
  }

  private async readAndApply (): Promise<void> {
    if (this.closed || this.opts.file === undefined) return
    let text: string
    try {
      text = await readFile(this.opts.file, 'utf8')
    } catch (err) {
      // Mid-swap, or gone for a moment: keep the tokens in effect rather than lock every caller out.
      this.opts.log('warn', `AUTH_BEARER_TOKENS_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); keeping the ${this.entries.length} token(s) in effect`)
      return
    }
    const hash = hashOf(text)
    if (hash === this.contentHash) return
    const parsed = parseTokenFile(text)
    this.contentHash = hash
    // The file as written is the truth: a revoked token must stop working even if another line is broken.
    this.entries = parsed.entries
    for (const problem of parsed.problems) this.opts.log('warn', `AUTH_BEARER_TOKENS_FILE ${problem}; that line is ignored`)
    this.opts.log(parsed.entries.length === 0 ? 'warn' : 'info',
      `AUTH_BEARER_TOKENS_FILE reloaded: ${parsed.entries.length} token(s) accepted (${[...new Set(parsed.entries.map(e => e.label))].join(', ') || 'none: every request is refused'})`)
  }
}

function hashOf (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
