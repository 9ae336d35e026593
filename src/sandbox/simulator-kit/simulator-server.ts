/**
 * Listening and closing, the same for every simulator: listen on a port (0: a free one), advertise a dialable
 * origin (loopback for a wildcard address), and close without waiting for clients' keep-alive sockets.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export async function listenSimulator (server: Server, port: number, host: string): Promise<{ origin: string, close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  // A wildcard listen address is not something a client can dial; advertise loopback instead.
  const dialable = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address
  const hostPart = dialable.includes(':') ? `[${dialable}]` : dialable
  return {
    origin: `http://${hostPart}:${address.port}`,
    close: async () => await new Promise<void>((resolve, reject) => {
      server.close((err) => { err === undefined ? resolve() : reject(err) })
      // Keep-alive sockets of fetch clients would otherwise hold close() open.
      server.closeAllConnections()
    })
  }
}
