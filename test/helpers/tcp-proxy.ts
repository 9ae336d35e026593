/**
 * A TCP proxy in front of a server (Redis), for tests of the ways a network fails: `cut` refuses and resets
 * every connection (a stopped server), `freeze` keeps connections open but passes nothing (a black hole: no
 * error, no reply), `restore` brings it back on the same address with the server's data intact.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { freePort } from './redis-server.js'

export interface TcpProxy {
  /** The proxied URL (same scheme as the target). */
  url: string
  cut: () => Promise<void>
  freeze: () => void
  restore: () => Promise<void>
  close: () => Promise<void>
}

export async function startTcpProxy (targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl)
  const port = await freePort()
  const sockets = new Set<Socket>()
  let mode: 'open' | 'frozen' | 'cut' = 'open'
  let server: Server | undefined

  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => { sockets.delete(socket) })
  }
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      track(client)
      // Frozen: accept, then pass nothing either way.
      if (mode !== 'open') return
      const upstream = createConnection(Number(target.port), target.hostname)
      track(upstream)
      client.pipe(upstream).pipe(client)
      const end = (): void => { client.destroy(); upstream.destroy() }
      client.once('close', end)
      upstream.once('close', end)
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => { s.off('error', reject); resolve() })
    })
    server = s
  }
  const stopListening = async (): Promise<void> => {
    const s = server
    server = undefined
    if (s !== undefined) await new Promise<void>(resolve => { s.close(() => { resolve() }) })
  }
  const dropAll = (): void => { for (const socket of sockets) socket.destroy() }

  await listen()
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    async cut () {
      mode = 'cut'
      const closing = stopListening()
      dropAll()
      await closing
    },
    freeze () {
      mode = 'frozen'
      for (const socket of sockets) { socket.unpipe(); socket.pause() }
    },
    async restore () {
      // Frozen connections hold half-read replies: drop them, clients reconnect to a clean stream.
      dropAll()
      mode = 'open'
      if (server === undefined) await listen()
    },
    async close () {
      mode = 'cut'
      const closing = stopListening()
      dropAll()
      await closing
    }
  }
}
