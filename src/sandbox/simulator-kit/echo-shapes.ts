/**
 * The texts of the `echoNext` fault: an upstream that quotes back what it was sent, as connector validators,
 * discover errors and proxies do, in the shapes real systems produce: quoted, JSON-escaped, URL- and
 * form-encoded, base64 (also inside a basic-auth string), hex, upper-cased, re-spaced, HTML-escaped and cut
 * short. For tests of scrubbing; each simulator wraps the text in its own error body.
 */
export type EchoShape =
  | 'quoted' | 'json-escaped' | 'url-encoded' | 'form-encoded' | 'base64' | 'basic-auth' | 'hex'
  | 'upper-case' | 're-spaced' | 'html' | 'truncated' | 'truncated-mid'

export const ECHO_SHAPES: readonly EchoShape[] = [
  'quoted', 'json-escaped', 'url-encoded', 'form-encoded', 'base64', 'basic-auth', 'hex', 'upper-case', 're-spaced',
  'html', 'truncated', 'truncated-mid'
]

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Every non-empty string inside `values` (objects and arrays walked), added to `out`. */
export function collectStrings (out: Set<string>, ...values: unknown[]): Set<string> {
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v !== '') out.add(v)
    else if (Array.isArray(v)) v.forEach(walk)
    else if (isPlainObject(v)) Object.values(v).forEach(walk)
  }
  values.forEach(walk)
  return out
}

function shape (kind: EchoShape, value: string): string {
  switch (kind) {
    case 'quoted': return `"${value}"`
    case 'json-escaped': return JSON.stringify(JSON.stringify({ value }))
    case 'url-encoded': return `?v=${encodeURIComponent(value)}`
    case 'form-encoded': return new URLSearchParams({ v: value }).toString()
    case 'base64': return Buffer.from(value, 'utf8').toString('base64')
    case 'basic-auth': return `Basic ${Buffer.from(`loader:${value}`, 'utf8').toString('base64')}`
    case 'hex': return Buffer.from(value, 'utf8').toString('hex')
    case 'upper-case': return value.toUpperCase()
    case 're-spaced': return [...value].join(' ')
    case 'html': return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
    case 'truncated': return `${value.slice(0, Math.max(6, Math.ceil(value.length * 0.6)))}...`
    case 'truncated-mid': return `'${value.slice(0, Math.max(6, Math.ceil(value.length * 0.7)))}'`
  }
}

/** The error message quoting `values` (longest first) in every shape, the last one cut mid-value. */
export function echoMessage (values: readonly string[], shapes: readonly EchoShape[] = ECHO_SHAPES): string {
  const lines = values.flatMap((v) => shapes.map((s) => `${s}: ${shape(s, v)}`))
  const message = `Invalid configuration: ${lines.join('; ')}`
  // The last line is cut mid-value, as an upstream that limits its messages does.
  const cut = values[0] === undefined ? '' : `; the value ${values[0].slice(0, Math.max(6, values[0].length - 3))}`
  return `${message}${cut}`
}
