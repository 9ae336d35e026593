/**
 * A local three-master Redis Cluster from the machine's `redis-server` (no Docker): three nodes on free ports in a
 * temporary directory, joined with `redis-cli --cluster create`, ready once every node reports cluster_state:ok.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, pollUntil, spawnRedis, waitForPing, withNode, type RedisProcess } from './redis-processes.js'

export interface LocalCluster {
  ports: number[]
  /** What the service is given: `REDIS_CLUSTER_NODES`. */
  env: { REDIS_CLUSTER_NODES: string }
  /** Kills every node and removes the directory. */
  stop: () => Promise<void>
}

export async function startLocalCluster (masters = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'adapter-redis-cluster-'))
  const nodes: RedisProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map(async node => { await node.kill() }))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort()
      nodes.push(await spawnRedis(port, [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000',
        '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--maxmemory-policy', 'noeviction'
      ]))
    }
    await Promise.all(nodes.map(async node => { await waitForPing(`redis://127.0.0.1:${node.port}`) }))
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...nodes.map(n => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    // Each node learns the others' slots by gossip: ready when every one of them says so.
    await pollUntil('cluster_state:ok on every node', async () => {
      const states = await Promise.all(nodes.map(async n => await withNode(n.port, async c => await c.cluster('INFO'))))
      return states.every(info => /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info))
    })
  } catch (err) {
    await stop()
    throw err
  }
  const ports = nodes.map(n => n.port)
  return { ports, env: { REDIS_CLUSTER_NODES: ports.map(p => `127.0.0.1:${p}`).join(',') }, stop }
}
