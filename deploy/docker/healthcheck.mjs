// The image's HEALTHCHECK (the slim image has no curl): GET /health/ready of this process, exit 0 when it answers
// 2xx, else 1. ROLE=worker checks the worker's health server on METRICS_PORT; api and all check the API on PORT,
// under BASE_PATH. `node healthcheck.mjs live` checks liveness only (the process answers, Redis or not).
const env = process.env
const worker = env.ROLE === 'worker'
const port = worker ? (env.METRICS_PORT || '9464') : (env.PORT || '8093')
const prefix = worker ? '' : (env.BASE_PATH || '').replace(/\/+$/, '')
const probe = process.argv[2] === 'live' ? 'live' : 'ready'
const url = `http://127.0.0.1:${port}${prefix}/health/${probe}`

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(Number(env.HEALTHCHECK_TIMEOUT_MS || 2500)) })
  process.exitCode = res.ok ? 0 : 1
  if (!res.ok) console.error(`${url}: ${res.status}`)
} catch (err) {
  console.error(`${url}: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
}
