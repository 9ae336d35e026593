/**
 * The Redis section of the configuration: which Redis (one server, a Sentinel-managed primary or a Cluster), TLS
 * and credentials. Exactly one form is chosen by which variables are set; none means `redis://127.0.0.1:6379`.
 * Only reads and checks variables: src/queue/redis-connection.ts turns the result into connections.
 */
import { readFileSync } from 'node:fs'

export interface HostPort { host: string, port: number }

/** TLS towards Redis: `ca` the PEM of REDIS_TLS_CA_FILE, else the system's trusted CAs. */
export interface RedisTls { ca?: string }

interface RedisAuth {
  /** `REDIS_USERNAME`: an ACL user of the data nodes. Default none (the `default` user). */
  username?: string
  /** `REDIS_PASSWORD` / `REDIS_PASSWORD_FILE`: password of the data nodes. Default none. A service credential. */
  password?: string
  /** TLS to the data nodes (and the sentinels): `rediss://`, or `REDIS_TLS=true` with Sentinel or Cluster. */
  tls?: RedisTls
}

export type RedisSettings =
  /** `REDIS_URL` (`redis://` or `rediss://`). Default `redis://127.0.0.1:6379`. */
  | RedisAuth & { mode: 'standalone', url: string }
  /** `REDIS_SENTINELS` (host:port list) and `REDIS_SENTINEL_NAME` (the monitored primary's name). */
  | RedisAuth & {
    mode: 'sentinel'
    sentinels: HostPort[]
    name: string
    /** `REDIS_SENTINEL_USERNAME`: ACL user of the sentinels. Default none. */
    sentinelUsername?: string
    /** `REDIS_SENTINEL_PASSWORD` / `_FILE`: password of the sentinels themselves. Default none. */
    sentinelPassword?: string
  }
  /** `REDIS_CLUSTER_NODES` (host:port list of some of the Cluster's nodes; the rest are discovered). */
  | RedisAuth & { mode: 'cluster', nodes: HostPort[] }

/** The part of the environment reader used here (src/config.ts passes its own). */
export interface RedisEnvReader {
  readonly problems: string[]
  string: (name: string) => string | undefined
  secret: (name: string) => string | undefined
  bool: (name: string, fallback: boolean) => boolean
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** The variables that each choose a Redis; at most one may be set. */
const CHOICES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const

/** `host:port,host:port`; IPv6 hosts in brackets (`[::1]:26379`). Problems are reported under `name`. */
export function parseHostPortList (name: string, raw: string, problems: string[]): HostPort[] {
  const out: HostPort[] = []
  for (const item of raw.split(',').map(s => s.trim()).filter(Boolean)) {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(item)
    const port = Number(match?.[3])
    if (match === null || port < 1 || port > 65535) {
      problems.push(`${name} must be a comma-separated list of host:port, got ${JSON.stringify(item)}`)
      continue
    }
    out.push({ host: match[1] ?? match[2] ?? '', port })
  }
  if (out.length === 0 && problems.every(p => !p.startsWith(`${name} `))) problems.push(`${name} must name at least one host:port`)
  return out
}

function readCa (r: RedisEnvReader): string | undefined {
  const file = r.string('REDIS_TLS_CA_FILE')
  if (file === undefined) return undefined
  try {
    const pem = readFileSync(file, 'utf8')
    if (pem.trim() === '') r.problems.push(`REDIS_TLS_CA_FILE: ${file} is empty`)
    return pem
  } catch (err) {
    r.problems.push(`REDIS_TLS_CA_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

export function readRedisSettings (r: RedisEnvReader): RedisSettings {
  const chosen = CHOICES.filter(name => r.string(name) !== undefined)
  if (chosen.length > 1) {
    r.problems.push(`set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES; got ${chosen.join(' and ')}`)
  }
  const ca = readCa(r)
  const auth: RedisAuth = { username: r.string('REDIS_USERNAME'), password: r.secret('REDIS_PASSWORD') }
  const sentinelOnly = ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_SENTINEL_PASSWORD_FILE']
  const [choice] = chosen
  if (choice !== 'REDIS_SENTINELS') {
    for (const name of sentinelOnly.filter(n => r.string(n) !== undefined)) r.problems.push(`${name} is set but REDIS_SENTINELS is not`)
  }

  if (choice === 'REDIS_SENTINELS' || choice === 'REDIS_CLUSTER_NODES') {
    if (r.string('REDIS_TLS') !== undefined || ca !== undefined) {
      const tls = r.bool('REDIS_TLS', true)
      if (!tls && ca !== undefined) r.problems.push('REDIS_TLS_CA_FILE is set but REDIS_TLS=false')
      if (tls) auth.tls = { ca }
    }
    if (choice === 'REDIS_CLUSTER_NODES') {
      return { mode: 'cluster', nodes: parseHostPortList(choice, r.string(choice) ?? '', r.problems), ...auth }
    }
    const name = r.string('REDIS_SENTINEL_NAME')
    if (name === undefined) r.problems.push('REDIS_SENTINEL_NAME is required with REDIS_SENTINELS (the primary\'s name in the sentinels\' configuration)')
    return {
      mode: 'sentinel',
      sentinels: parseHostPortList(choice, r.string(choice) ?? '', r.problems),
      name: name ?? '',
      sentinelUsername: r.string('REDIS_SENTINEL_USERNAME'),
      sentinelPassword: r.secret('REDIS_SENTINEL_PASSWORD'),
      ...auth
    }
  }

  const url = r.string('REDIS_URL') ?? DEFAULT_REDIS_URL
  if (r.string('REDIS_TLS') !== undefined) r.problems.push('REDIS_TLS applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL use rediss:// for TLS')
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {}
  if (parsed === undefined || !/^rediss?:$/.test(parsed.protocol) || parsed.hostname === '') {
    r.problems.push('REDIS_URL must be redis://host:port or rediss://host:port (TLS)')
  } else {
    if (parsed.password !== '' && auth.password !== undefined) r.problems.push('REDIS_URL holds a password and REDIS_PASSWORD is set too; set only one (prefer REDIS_PASSWORD_FILE)')
    if (parsed.protocol === 'rediss:') auth.tls = { ca }
    else if (ca !== undefined) r.problems.push('REDIS_TLS_CA_FILE is set but REDIS_URL is redis:// (no TLS); use rediss://')
  }
  return { mode: 'standalone', url, ...auth }
}

/** Credentials held in the settings (a password inside REDIS_URL included), for the service-credential list. */
export function redisCredentialValues (settings: RedisSettings): string[] {
  const values = [settings.password]
  if (settings.mode === 'sentinel') values.push(settings.sentinelPassword)
  if (settings.mode === 'standalone') {
    try {
      values.push(decodeURIComponent(new URL(settings.url).password))
    } catch {}
  }
  return values.filter((v): v is string => v !== undefined && v !== '')
}

/** Where this Redis is, for log lines: hosts and ports only, never a credential. */
export function describeRedis (settings: RedisSettings): string {
  if (settings.mode === 'cluster') return `cluster ${settings.nodes.map(n => `${n.host}:${n.port}`).join(',')}`
  if (settings.mode === 'sentinel') return `sentinel ${settings.name} via ${settings.sentinels.map(n => `${n.host}:${n.port}`).join(',')}`
  try {
    const url = new URL(settings.url)
    return `${url.protocol}//${url.host}`
  } catch {
    return 'redis'
  }
}
