/**
 * OpenTelemetry tracing for the process: the tracer provider (W3C trace context, AsyncLocalStorage context,
 * OTLP over HTTP), the BullMQ telemetry that carries a trace through the queue in the job itself, and the
 * span helper the queue and outbound layers use. Off (no provider, no spans made) unless tracing-config.ts says
 * on. Spans carry methods, route templates, statuses and step names: never a body, a header or a secret.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api'
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler,
  type Sampler, type SpanExporter
} from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import { BullMQOtel } from 'bullmq-otel'
import type { TracingConfig } from './tracing-config.js'

const TRACER_NAME = 'tech-adapter'

let provider: NodeTracerProvider | undefined
let queueTelemetry: BullMQOtel | undefined

export interface Tracing {
  /** Flushes the spans still buffered and stops exporting. */
  shutdown: () => Promise<void>
}

export interface TracingOptions {
  /** Replaces the OTLP exporter (tests: InMemorySpanExporter); spans are then exported one by one. */
  exporter?: SpanExporter
}

function samplerFor (config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio)
  switch (config.sampler) {
    case 'always_on': return new AlwaysOnSampler()
    case 'always_off': return new AlwaysOffSampler()
    case 'traceidratio': return ratio
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() })
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: ratio })
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() })
  }
}

/** The OTLP exporter of the configured protocol. */
export function exporterFor (config: TracingConfig): SpanExporter {
  const options = { url: config.url, headers: config.headers }
  return config.protocol === 'http/json' ? new OtlpJsonExporter(options) : new OtlpProtoExporter(options)
}

/**
 * Starts tracing for the whole process (the OTel API is process-global), once; later calls return the same.
 * Returns undefined when tracing is off and no exporter is forced.
 */
export function startTracing (config: TracingConfig, opts: TracingOptions = {}): Tracing | undefined {
  if (!config.enabled && opts.exporter === undefined) return undefined
  if (provider === undefined) {
    const exporter = opts.exporter ?? exporterFor(config)
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ ...config.resourceAttributes, [ATTR_SERVICE_NAME]: config.serviceName }),
      sampler: samplerFor(config),
      spanProcessors: [opts.exporter === undefined ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter)]
    })
    // W3C traceparent/baggage propagation and the AsyncLocalStorage context manager.
    provider.register()
    queueTelemetry = new BullMQOtel({ tracerName: TRACER_NAME })
  }
  const running = provider
  return { shutdown: async () => { await running.forceFlush() } }
}

export function tracingEnabled (): boolean {
  return provider !== undefined
}

/** BullMQ's `telemetry` option for a Queue or Worker: the job carries the trace context (job opts). */
export function bullmqTelemetry (): BullMQOtel | undefined {
  return queueTelemetry
}

/**
 * Runs `fn` inside a span (a child of the active one), ending it with the outcome. Without tracing, `fn` runs
 * with an undefined span and nothing is made.
 */
export async function inSpan<T> (name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  if (provider === undefined) return await fn(undefined)
  return await trace.getTracer(TRACER_NAME).startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span)
    } catch (err) {
      // The error's class only: messages may quote what the target answered.
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' })
      throw err
    } finally {
      span.end()
    }
  })
}

/** Adds the active trace context (`traceparent`) to outgoing headers, so a target that traces joins the trace. */
export function injectTraceContext (headers: Record<string, string>): void {
  if (provider === undefined) return
  propagation.inject(context.active(), headers)
}

export { SpanKind }
