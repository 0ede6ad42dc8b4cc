import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { Context, SpanStatusCode } from '@opentelemetry/api';
import { BatchSpanProcessor, NodeTracerProvider, ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { SWEEP_ATTRIBUTE, Tracing, TracingConfig } from './tracing';

/**
 * Starts the OpenTelemetry SDK and registers it with @opentelemetry/api: an
 * AsyncLocalStorage context manager (a span stays active across awaits), the W3C
 * trace-context (and baggage) propagator, and a batch of finished spans sent over
 * OTLP/HTTP (JSON) to `<endpoint>/v1/traces` at most 5 s after they end, except
 * the traces of sweeps that found nothing to do (IdleSweeps). Loaded
 * only when traces are on (src/index.ts). `onError` hears an export failure at
 * shutdown; the SDK reports others through its diagnostic logger (silent by default).
 */
export function startTracing(config: TracingConfig, onError: (err: unknown) => void = () => undefined): Tracing {
  const url = new URL(config.endpoint);
  url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    spanProcessors: [new IdleSweeps(new BatchSpanProcessor(new OTLPTraceExporter({ url: url.toString() }), { scheduledDelayMillis: 5_000 }))],
  });
  provider.register();
  return {
    enabled: true,
    async shutdown() {
      await provider.shutdown().catch(onError);
    },
  };
}

/**
 * Keeps the traces of sweep steps (root span marked SWEEP_ATTRIBUTE) that found
 * nothing to do out of the export: every 2 s each step looks for work, and a trace
 * of each look would bury the ones that did something. A sweep's spans are held
 * until its root ends, then passed on if any of them is more than an idle look: a
 * look is a span that found nothing (`db.found` false or `db.count` 0); a sweep that
 * failed is passed on too. Spans of every other trace pass straight on.
 */
export class IdleSweeps implements SpanProcessor {
  private readonly held = new Map<string, { spans: ReadableSpan[]; busy: boolean }>();

  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    if (!span.parentSpanContext && span.attributes[SWEEP_ATTRIBUTE] !== undefined) this.held.set(span.spanContext().traceId, { spans: [], busy: false });
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    const sweep = this.held.get(span.spanContext().traceId);
    if (!sweep) return this.next.onEnd(span);
    if (span.parentSpanContext) {
      sweep.spans.push(span);
      sweep.busy ||= !idleLook(span);
      return;
    }
    this.held.delete(span.spanContext().traceId);
    if (sweep.busy || span.status.code === SpanStatusCode.ERROR) for (const held of [...sweep.spans, span]) this.next.onEnd(held);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

function idleLook(span: ReadableSpan): boolean {
  return span.attributes['db.found'] === false || span.attributes['db.count'] === 0;
}
