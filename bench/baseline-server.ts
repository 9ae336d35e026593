/**
 * Baselines for `npm run bench`: the least a Fastify service can do for the same requests.
 * POST /baseline/provision: yaml.parse + queue.add. GET /baseline/status/:token: one Redis GET.
 */
import Fastify from 'fastify'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { parse } from 'yaml'
import { randomUUID } from 'node:crypto'

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = process.env.QUEUE_PREFIX ?? 'bench-baseline'
const redis = new Redis(redisUrl)
const queue = new Queue('baseline', { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix })
const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 })
app.post('/baseline/provision', async (request, reply) => {
  const body = request.body as { descriptor: string }
  const descriptor = parse(body.descriptor) as unknown
  const token = randomUUID()
  await queue.add('task', { descriptor }, { jobId: token })
  return await reply.code(202).type('text/plain').send(token)
})
app.get('/baseline/status/:token', async (request) => {
  const value = await redis.get(`${prefix}:status:${(request.params as { token: string }).token}`)
  return { status: 'COMPLETED', result: value ?? 'OK' }
})
const url = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.stdout.write(`LISTENING ${url}\n`)
process.once('SIGTERM', () => { app.close().then(async () => { await queue.close(); redis.disconnect(); process.exit(0) }, () => process.exit(1)) })
