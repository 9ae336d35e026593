/**
 * Trace export settings from the standard OpenTelemetry variables (the OTLP exporter and SDK specification's
 * names), read and checked with the rest of the configuration. Tracing is off unless an OTLP endpoint is set
 * (or OTEL_TRACES_EXPORTER=otlp asks for the default one). Only the HTTP protocols are built in.
 */
import type { ConfigEnv } from '../config-env.js'

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number]
export const TRACE_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const
export type TraceSampler = (typeof TRACE_SAMPLERS)[number]

/** Variables that may carry a credential for the collector (`Authorization=...`): never resolvable from a descriptor. */
export const TRACING_CREDENTIAL_VARIABLES = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'] as const

/** The OTLP specification's default endpoint for the HTTP protocols. */
const DEFAULT_ENDPOINT = 'http://localhost:4318'

export interface TracingConfig {
  /** On when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set (or OTEL_TRACES_EXPORTER=otlp); off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Default off. */
  enabled: boolean
  /** Where spans are posted: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. Default `http://localhost:4318/v1/traces`. */
  url: string
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL: `http/protobuf` or `http/json`. Default `http/protobuf`. */
  protocol: OtlpProtocol
  /** OTEL_EXPORTER_OTLP_TRACES_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`; `_FILE` accepted). Default none. */
  headers: Record<string, string>
  /** OTEL_SERVICE_NAME, else `service.name` of OTEL_RESOURCE_ATTRIBUTES. Default `tech-adapter`. */
  serviceName: string
  /** OTEL_RESOURCE_ATTRIBUTES (`k=v,k2=v2`, values percent-decoded). Default none. */
  resourceAttributes: Record<string, string>
  /** OTEL_TRACES_SAMPLER. Default `parentbased_always_on` (an incoming sampled traceparent is kept). */
  sampler: TraceSampler
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the `*traceidratio` samplers, 0-1. Default 1. */
  samplerRatio: number
}

/** `k=v,k2=v2` as the OTel specification writes headers and resource attributes; null when malformed. */
export function parseKeyValues (raw: string | undefined): Record<string, string> | null {
  const out: Record<string, string> = {}
  for (const pair of (raw ?? '').split(',').map(s => s.trim()).filter(Boolean)) {
    const at = pair.indexOf('=')
    if (at <= 0) return null
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
    } catch {
      return null
    }
  }
  return out
}

export function readTracingConfig (r: ConfigEnv): TracingConfig {
  const tracesEndpoint = r.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const endpoint = r.url('OTEL_EXPORTER_OTLP_ENDPOINT')
  const exporter = r.oneOf('OTEL_TRACES_EXPORTER', ['otlp', 'none'], 'otlp')
  const disabled = r.bool('OTEL_SDK_DISABLED', false)
  const explicit = r.string('OTEL_TRACES_EXPORTER') !== undefined
  const protocolName = r.string('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') === undefined ? 'OTEL_EXPORTER_OTLP_PROTOCOL' : 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
  const protocol = r.oneOf<OtlpProtocol>(protocolName, OTLP_PROTOCOLS, 'http/protobuf')
  const headersName = r.string('OTEL_EXPORTER_OTLP_TRACES_HEADERS') === undefined && r.string('OTEL_EXPORTER_OTLP_TRACES_HEADERS_FILE') === undefined
    ? 'OTEL_EXPORTER_OTLP_HEADERS'
    : 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'
  const headers = parseKeyValues(r.secret(headersName))
  // Never quote the value: it usually holds the collector's credential.
  if (headers === null) r.problems.push(`${headersName} must be comma-separated key=value pairs (values percent-encoded)`)
  const attributesRaw = r.string('OTEL_RESOURCE_ATTRIBUTES')
  const resourceAttributes = parseKeyValues(attributesRaw)
  if (resourceAttributes === null) r.problems.push(`OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs (values percent-encoded), got ${JSON.stringify(attributesRaw)}`)
  const sampler = r.oneOf<TraceSampler>('OTEL_TRACES_SAMPLER', TRACE_SAMPLERS, 'parentbased_always_on')
  return {
    enabled: !disabled && exporter === 'otlp' && (tracesEndpoint !== undefined || endpoint !== undefined || explicit),
    url: tracesEndpoint ?? `${endpoint ?? DEFAULT_ENDPOINT}/v1/traces`,
    protocol,
    headers: headers ?? {},
    serviceName: r.string('OTEL_SERVICE_NAME') ?? resourceAttributes?.['service.name'] ?? 'tech-adapter',
    resourceAttributes: resourceAttributes ?? {},
    sampler,
    samplerRatio: r.fraction('OTEL_TRACES_SAMPLER_ARG', 1)
  }
}
