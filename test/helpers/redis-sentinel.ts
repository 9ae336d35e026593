/**
 * A local Sentinel setup from the machine's `redis-server` (no Docker): a primary, one replica and three
 * sentinels (quorum 2) on free ports in a temporary directory. Ready once the replica is in sync and every
 * sentinel knows the replica and the two other sentinels, so a failover can be elected at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, pollUntil, spawnRedis, waitForPing, withNode, type RedisProcess } from './redis-processes.js'

export const SENTINEL_NAME = 'tech-adapter'

export interface LocalSentinel {
  /** What the service is given: `REDIS_SENTINELS` and `REDIS_SENTINEL_NAME`. */
  env: { REDIS_SENTINELS: string, REDIS_SENTINEL_NAME: string }
  primaryPort: number
  replicaPort: number
  /** SIGKILLs the current primary (a crash). */
  killPrimary: () => Promise<void>
  /** The port the sentinels name as primary now. */
  currentPrimaryPort: () => Promise<number>
  /** Kills every process and removes the directory. */
  stop: () => Promise<void>
}

export interface LocalSentinelOptions {
  /** Sentinels' `down-after-milliseconds`: how long the primary must be silent to count as down. Default 1000. */
  downAfterMs?: number
}

export async function startLocalSentinel (opts: LocalSentinelOptions = {}): Promise<LocalSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'adapter-redis-sentinel-'))
  const processes: RedisProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map(async p => { await p.kill() }))
    rmSync(dir, { recursive: true, force: true })
  }
  // Diskless sync without delay: the replica is in sync in milliseconds instead of after the default 5 s wait.
  const dataArgs = (port: number): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`,
    '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--maxmemory-policy', 'noeviction',
    '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0']
  try {
    const primaryPort = await freePort()
    const primary = await spawnRedis(primaryPort, dataArgs(primaryPort))
    processes.push(primary)
    await waitForPing(`redis://127.0.0.1:${primaryPort}`)
    const replicaPort = await freePort()
    processes.push(await spawnRedis(replicaPort, [...dataArgs(replicaPort), '--replicaof', '127.0.0.1', String(primaryPort)]))
    await waitForPing(`redis://127.0.0.1:${replicaPort}`)
    await pollUntil('the replica in sync', async () => await withNode(replicaPort, async c => /master_link_status:up/.test(await c.info('replication'))))

    const sentinelPorts: number[] = []
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      sentinelPorts.push(port)
      // A sentinel rewrites its configuration file as it learns the topology: one writable file each.
      const file = join(dir, `sentinel-${port}.conf`)
      writeFileSync(file, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_NAME} ${opts.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${SENTINEL_NAME} 10000`,
        `sentinel parallel-syncs ${SENTINEL_NAME} 1`, ''
      ].join('\n'))
      processes.push(await spawnRedis(port, [file, '--sentinel']))
    }
    await Promise.all(sentinelPorts.map(async p => { await waitForPing(`redis://127.0.0.1:${p}`) }))
    await pollUntil('every sentinel knowing the replica and the other sentinels', async () => {
      const views = await Promise.all(sentinelPorts.map(async port => await withNode(port, async c => {
        const replicas = await c.call('SENTINEL', 'REPLICAS', SENTINEL_NAME) as unknown[]
        const peers = await c.call('SENTINEL', 'SENTINELS', SENTINEL_NAME) as unknown[]
        return replicas.length === 1 && peers.length === 2
      })))
      return views.every(Boolean)
    }, 30_000)

    const currentPrimaryPort = async (): Promise<number> => {
      for (const port of sentinelPorts) {
        try {
          const addr = await withNode(port, async c => await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME) as [string, string])
          return Number(addr[1])
        } catch {}
      }
      throw new Error('no sentinel answers')
    }
    return {
      env: { REDIS_SENTINELS: sentinelPorts.map(p => `127.0.0.1:${p}`).join(','), REDIS_SENTINEL_NAME: SENTINEL_NAME },
      primaryPort,
      replicaPort,
      currentPrimaryPort,
      killPrimary: async () => {
        const port = await currentPrimaryPort()
        const target = processes.find(p => p.port === port)
        if (target === undefined) throw new Error(`no process of this setup on port ${port}`)
        await target.kill()
      },
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
