/**
 * The format of AUTH_BEARER_TOKENS_FILE, and nothing else (no I/O): one accepted token per line, optionally
 * named by a label that identifies the caller in task records and logs.
 *
 *     # comment lines and blank lines are ignored
 *     orchestrator  3hX9...long-random-token...   <- `label token`, separated by spaces or tabs
 *     9f8c...another-long-token...                 <- a bare token: labelled `token-<8 hex of its SHA-256>`
 *
 * Several lines may share a label (rotation: the old and the new token of one caller). Problems are reported by
 * line number and never quote a token.
 */
import { createHash } from 'node:crypto'

/** Shorter tokens are refused: they can be guessed, and a fingerprint of a short token says too much. */
export const MIN_TOKEN_LENGTH = 16
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/
// Visible ASCII: what an HTTP header carries unaltered (RFC 6750's b64token is a subset).
const TOKEN = /^[\x21-\x7e]+$/

export interface TokenEntry {
  label: string
  /** SHA-256 of the token: all the store keeps, so comparisons are fixed-length and constant-time. */
  digest: Buffer
}

export interface ParsedTokenFile {
  entries: TokenEntry[]
  /** `line N: ...`, one per rejected line. */
  problems: string[]
}

export function tokenDigest (token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** A label for a bare token: short, stable, and useless for recovering the token. */
export function fingerprintLabel (digest: Buffer): string {
  return `token-${digest.subarray(0, 4).toString('hex')}`
}

export function parseTokenFile (text: string): ParsedTokenFile {
  const entries: TokenEntry[] = []
  const problems: string[] = []
  const seen = new Map<string, string>()
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const where = `line ${index + 1}`
    const fields = line.split(/[ \t]+/)
    if (fields.length > 2) {
      problems.push(`${where}: expected "label token" or a bare token, found ${fields.length} fields`)
      return
    }
    const token = fields[fields.length - 1] ?? ''
    const givenLabel = fields.length === 2 ? fields[0] : undefined
    if (givenLabel !== undefined && !LABEL.test(givenLabel)) {
      problems.push(`${where}: the label must be 1-64 letters, digits or . _ @ : - (starting with a letter or digit)`)
      return
    }
    if (!TOKEN.test(token)) {
      problems.push(`${where}: the token must be visible ASCII characters only`)
      return
    }
    if (token.length < MIN_TOKEN_LENGTH) {
      problems.push(`${where}: the token is ${token.length} characters long; tokens must have at least ${MIN_TOKEN_LENGTH} (use e.g. \`openssl rand -hex 32\`)`)
      return
    }
    const digest = tokenDigest(token)
    const label = givenLabel ?? fingerprintLabel(digest)
    const key = digest.toString('hex')
    const earlier = seen.get(key)
    if (earlier !== undefined) {
      if (earlier !== label) problems.push(`${where}: the same token is already listed under the label ${earlier}`)
      return
    }
    seen.set(key, label)
    entries.push({ label, digest })
  })
  return { entries, problems }
}
