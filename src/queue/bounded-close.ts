/**
 * Closing with a deadline. With Redis unreachable, ioredis' QUIT waits in the offline queue forever and
 * BullMQ's close waits on it, so every close step at shutdown is raced against a deadline and a connection
 * that cannot quit in time is dropped (`disconnect()`: no reconnect, pending commands rejected).
 */
import type { RedisClient } from './redis-connection.js'

/** Resolves true when `promise` settles (either way) within `ms`, false when the deadline came first. */
export async function settlesWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(false) }, Math.max(0, ms)) })
  const settled = await Promise.race([promise.then(() => true, () => true), timedOut])
  clearTimeout(timer)
  return settled
}

/** QUIT when Redis answers (pending replies are read first), else, or after `ms`, drop the connection. */
export async function quitOrDisconnect (connection: RedisClient, ms: number): Promise<void> {
  if (connection.status === 'ready') await settlesWithin(connection.quit(), ms)
  // Harmless after a QUIT that went through; the only way out of a reconnect loop otherwise.
  if (connection.status !== 'end') connection.disconnect()
}
