import t from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { loadConfig } from '../../src/config.js'
import { exporterFor } from '../../src/observability/tracing.js'

t.test('tracing is off unless an OTLP endpoint is set, and OTEL_SDK_DISABLED / OTEL_TRACES_EXPORTER=none win', async t => {
  t.equal(loadConfig({}).tracing.enabled, false)
  const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing
  t.match(on, { enabled: true, url: 'http://collector:4318/v1/traces', protocol: 'http/protobuf', sampler: 'parentbased_always_on', serviceName: 'tech-adapter' })
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:1' }).tracing.url, 'http://c:4318/custom', 'the traces endpoint is used as is')
  t.equal(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing.url, 'http://localhost:4318/v1/traces', 'the specification\'s default endpoint')
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).tracing.enabled, false)
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled, false)
})

t.test('protocol, service name, resource attributes, sampler and headers come from the standard variables', async t => {
  const headersFile = join(mkdtempSync(join(tmpdir(), 'otel-')), 'headers')
  writeFileSync(headersFile, 'authorization=Bearer%20collector-secret-0123456789\n')
  const c = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.namespace=data%20mesh',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    OTEL_EXPORTER_OTLP_HEADERS_FILE: headersFile
  })
  t.match(c.tracing, {
    protocol: 'http/json',
    resourceAttributes: { 'deployment.environment': 'prod', 'service.namespace': 'data mesh' },
    sampler: 'parentbased_traceidratio',
    samplerRatio: 0.25,
    headers: { authorization: 'Bearer collector-secret-0123456789' }
  })
  t.equal(loadConfig({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' }).tracing.serviceName, 'from-attributes')
  t.equal(loadConfig({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=a', OTEL_SERVICE_NAME: 'b' }).tracing.serviceName, 'b', 'OTEL_SERVICE_NAME wins')
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }).tracing.protocol, 'http/protobuf', 'the traces variable wins')
})

t.test('bad values fail start-up by variable name, never quoting a header value', async t => {
  t.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), /OTEL_EXPORTER_OTLP_PROTOCOL must be one of http\/protobuf, http\/json, got "grpc"/)
  t.throws(() => loadConfig({ OTEL_TRACES_SAMPLER: 'sometimes' }), /OTEL_TRACES_SAMPLER must be one of/)
  t.throws(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '2' }), /OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1/)
  t.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/)
  t.throws(() => loadConfig({ OTEL_RESOURCE_ATTRIBUTES: 'novalue' }), /OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs/)
  const err = (() => { try { loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key-without-equals-s3cr3t' }) } catch (e) { return e as Error } })()
  t.match(err?.message, /OTEL_EXPORTER_OTLP_HEADERS must be comma-separated key=value pairs/)
  t.notMatch(err?.message, /s3cr3t/, 'the value is not quoted')
  t.ok(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'x-token=collector-secret-0123456789' }).serviceCredentials.values.includes('x-token=collector-secret-0123456789'),
    'the collector headers count as the service\'s own credentials')
})

t.test('each protocol posts spans to the collector in its own encoding, with the configured headers', async t => {
  const received: Array<{ url?: string, type?: string, auth?: string, bytes: number }> = []
  const collector = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ url: req.url, type: req.headers['content-type'], auth: req.headers.authorization, bytes: Buffer.concat(chunks).length })
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' }).end(req.headers['content-type']?.includes('json') === true ? '{}' : '')
    })
  })
  await new Promise<void>(resolve => collector.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { collector.close() })
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`
  for (const [protocol, type] of [['http/json', /application\/json/], ['http/protobuf', /application\/x-protobuf/]] as const) {
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-token-0123456789' }).tracing
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporterFor(config))] })
    provider.getTracer('test').startSpan(`a ${protocol} span`).end()
    await provider.forceFlush()
    await provider.shutdown()
    const last = received.at(-1)
    t.equal(last?.url, '/v1/traces', `${protocol}: posted to /v1/traces`)
    t.match(last?.type, type, `${protocol}: its encoding`)
    t.equal(last?.auth, 'Bearer collector-token-0123456789', `${protocol}: the configured header`)
    t.ok((last?.bytes ?? 0) > 0)
  }
})
