import {
  Attributes, context, Context, isSpanContextValid, propagation, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, TextMapGetter, TextMapSetter, trace,
} from '@opentelemetry/api';

/**
 * OpenTelemetry traces: what the service's code uses to make spans, through
 * @opentelemetry/api only. The SDK (tracing-sdk.ts) is loaded and started once by
 * src/index.ts when OTEL_EXPORTER_OTLP_ENDPOINT is set; without it the API's no-op
 * tracer answers every call here and nothing is kept or sent (bench/tracing.js
 * measures what that costs).
 */

const TRACER = 'payments';

/** The attribute (the step's name) that marks the root span of a sweep step: its trace is sent only when it found work (tracing-sdk.ts). */
export const SWEEP_ATTRIBUTE = 'payments.sweep';

/** Where spans go: `endpoint` is the OTLP base URL (`/v1/traces` is appended, as the OTLP spec says); `serviceName` is the resource's `service.name`. */
export interface TracingConfig {
  endpoint: URL;
  serviceName: string;
}

/** The SDK when running (tracing-sdk.ts); `shutdown()` sends the spans still buffered (bounded by the exporter's 10 s timeout) and stops it. Never throws. */
export interface Tracing {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/** Traces off: no SDK, the API's no-op tracer. */
export const TRACING_OFF: Tracing = { enabled: false, shutdown: async () => undefined };

/** The active span's ids for a log line (`traceId`, `spanId`), or nothing outside a span. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { traceId: ids.traceId, spanId: ids.spanId } : undefined;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The context the span continues (an extracted `traceparent`); default the active one. `ROOT_CONTEXT` starts a new trace. */
  parent?: Context;
}

/**
 * Runs `fn` in a new span named `name`, active for everything `fn` does (its logs
 * carry its ids). The span ends when `fn` settles; a throw marks it an error (its
 * message only) and is rethrown.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACER);
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** What a traced method's span says: attributes from its arguments and from what it resolved to. */
export interface MethodSpan<A extends unknown[], R> {
  /** Default `<port>.<method>`. */
  name?: (...args: A) => string;
  kind?: SpanKind;
  args?: (...args: A) => Attributes;
  result?: (result: R) => Attributes;
  /** For a method that never throws: the message that marks the span an error when `result` is a failure, else undefined. */
  error?: (result: R) => string | undefined;
}

type Async = (...args: never[]) => Promise<unknown>;

/** For each method of a port to trace, what its span says (`{}`: the name alone). */
export type PortSpans<T> = {
  [K in keyof T]?: T[K] extends (...args: infer A) => Promise<infer R> ? MethodSpan<A, R> : never;
};

/**
 * The tracing decorator of a port (the payment provider, a store, the bus): `port`
 * itself behind a proxy whose methods named in `spans` run each call in a span named
 * `<name>.<method>` (or `spans[method].name(...args)`); every other member is the
 * port's own. Attributes are only what `spans` picks: never card data, tokens or secrets.
 */
export function traced<T extends object>(port: T, name: string, spans: PortSpans<T>): T {
  const wrapped = new Map<PropertyKey, unknown>();
  for (const [method, spec] of Object.entries(spans) as Array<[string, MethodSpan<unknown[], unknown>]>) {
    const original = (port as Record<string, unknown>)[method];
    if (typeof original !== 'function') throw new Error(`traced: ${name} has no method ${method}`);
    wrapped.set(method, (...args: unknown[]) =>
      inSpan(spec.name?.(...args) ?? `${name}.${method}`, { kind: spec.kind, attributes: spec.args?.(...args) }, async (span) => {
        const result = await (original as Async).apply(port, args as never[]);
        if (span.isRecording()) {
          if (spec.result) span.setAttributes(spec.result(result));
          const error = spec.error?.(result);
          if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
        }
        return result;
      }),
    );
  }
  return new Proxy(port, {
    get(target, property) {
      if (wrapped.has(property)) return wrapped.get(property);
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Headers as a carrier of `traceparent`: anything with get and set (JetStream's MsgHdrs). */
interface HeaderCarrier {
  get(key: string): string;
  set(key: string, value: string): void;
  keys(): string[];
}

const setter: TextMapSetter<HeaderCarrier> = { set: (carrier, key, value) => carrier.set(key, value) };
const getter: TextMapGetter<HeaderCarrier> = {
  get: (carrier, key) => carrier.get(key) || undefined,
  keys: (carrier) => carrier.keys(),
};

/** Writes the active span's `traceparent` (and `tracestate`) into `headers`; writes nothing when tracing is off. */
export function injectTraceHeaders(headers: HeaderCarrier): void {
  propagation.inject(context.active(), headers, setter);
}

/** The context a message's headers continue (a new trace when they carry no `traceparent`). */
export function extractTraceHeaders(headers: HeaderCarrier | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, getter) : ROOT_CONTEXT;
}

export { ROOT_CONTEXT, SpanKind };
