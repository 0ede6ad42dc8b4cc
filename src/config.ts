/** The only module that reads process.env: every setting is parsed and checked here, once, at start. */
import { hostname } from 'node:os';
import { currency, hostAddress, httpUrl, integerIn, mongoUri, natsUrl, oneOf, plainName, secret, streamName, stripeSecretKey, webhookSecret, wholeSeconds } from './config-values';
import { CRASH_POINTS, CrashPoint } from './payments/crash-points';
import type { TracingConfig } from './tracing';

export interface Config {
  port: number;
  /** The address to listen on; every interface when unset (a container). */
  host?: string;
  jwtKey: string;
  mongoUri: string;
  /** Which broker carries the events: NATS Streaming (`stan`) or NATS JetStream. */
  eventBus: EventBusKind;
  /** `clusterId` is NATS Streaming's and empty on JetStream; `clientId` names the connection on both. */
  nats: { url: string; clusterId: string; clientId: string; ackWaitMs: number };
  /** Times an event is tried (its delivery, then retries from the dead-letter store) before it is parked. */
  eventMaxDeliveries: number;
  /** JetStream only: the stream this service creates when it is missing. */
  jetstream: { stream: string; maxAgeMs: number; duplicateWindowMs: number };
  /** The longest a request waits for an answer, and a database operation for the database. */
  requestTimeoutMs: number;
  /** `webhookSecret`: the signing secret of the Stripe webhook endpoint (`whsec_…`); without it the endpoint answers 503. */
  /** `eventsPollMs`: how often Stripe's events list is read for events its webhooks did not bring (CONTRACT.md, 2026-12-05). */
  /** `maxRps`: the most requests a second to any one Stripe endpoint, all instances together (CONTRACT.md, 2026-12-05). */
  stripe: { key: string; apiUrl?: URL; currency: string; timeoutMs: number; webhookSecret?: string; eventsPollMs: number; maxRps: number };
  /** Payment attempts a user may make per minute; 0 turns the limit off. */
  attemptsPerMinute: number;
  logLevel: string;
  /** OpenTelemetry traces over OTLP/HTTP (src/tracing.ts); absent, no SDK is started. */
  tracing?: TracingConfig;
  /** Test-only: kill the process at this step of a payment (see payments/crash-points). */
  testCrashAt?: CrashPoint;
}

export const EVENT_BUSES = ['stan', 'jetstream'] as const;
export type EventBusKind = (typeof EVENT_BUSES)[number];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Where the settings that production must give (NODE_ENV=production: the image sets it)
 * point elsewhere: this machine's servers on their usual ports, and a test-mode Stripe key
 * that cannot charge (a stand-in such as stripe-mock takes any; Stripe itself refuses it).
 */
const LOCAL = {
  mongoUri: 'mongodb://127.0.0.1:27017/payments',
  natsUrl: 'nats://127.0.0.1:4222',
  clusterId: 'ticketing',
  clientId: () => `payments-${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}-${process.pid}`,
  stripeKey: 'sk_test_local_placeholder',
};

interface ReadOptions {
  /** Secrets are taken as given (the auth service signs with the exact value): not trimmed. */
  trim?: boolean;
  /** Optional outside production only (see LOCAL). */
  requiredInProduction?: boolean;
}

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const parse = <T>(name: string, raw: string, parser: (raw: string) => T): T | undefined => {
    try {
      return parser(raw);
    } catch (err) {
      problems.push(`${name} ${(err as Error).message}`);
      return undefined;
    }
  };
  /** The value to parse; '' when set but blank, undefined when unset. */
  const read = (name: string, trim: boolean): string | undefined => {
    const raw = env[name];
    if (raw === undefined || !raw.trim()) return raw === undefined ? undefined : '';
    return trim ? raw.trim() : raw;
  };
  const missing = (name: string, raw: string | undefined, when = '') =>
    problems.push(raw === undefined ? `${name} is required${when}` : `${name} is set but empty${when ? ` (it is required${when})` : ''}`);
  const required = <T>(name: string, parser: (raw: string) => T, { trim = true }: ReadOptions = {}): T => {
    const raw = read(name, trim);
    if (!raw) missing(name, raw);
    return (raw ? parse(name, raw, parser) : undefined) as T;
  };
  /** A blank value is taken as unset, except for a setting required in production, in production. */
  const optional = <T>(name: string, parser: (raw: string) => T, fallback: T, { trim = true, requiredInProduction = false }: ReadOptions = {}): T => {
    const raw = read(name, trim);
    if (raw) return parse(name, raw, parser) as T;
    if (requiredInProduction && production) missing(name, raw, ' when NODE_ENV is production');
    return fallback;
  };

  const eventBus = optional<EventBusKind>('EVENT_BUS', oneOf(EVENT_BUSES), 'stan');
  const stan = eventBus === 'stan';
  const config: Config = {
    port: optional('PORT', integerIn(0, 65535), 3000),
    host: optional<string | undefined>('HOST', hostAddress, undefined),
    // Secrets are taken as given: the auth service signs with the exact value.
    jwtKey: required('JWT_KEY', secret, { trim: false }),
    mongoUri: optional('MONGO_URI', mongoUri, LOCAL.mongoUri, { requiredInProduction: true }),
    eventBus,
    nats: {
      url: optional('NATS_URL', natsUrl, LOCAL.natsUrl, { requiredInProduction: true }),
      clusterId: optional('NATS_CLUSTER_ID', plainName, stan ? LOCAL.clusterId : '', { requiredInProduction: stan }),
      clientId: optional('NATS_CLIENT_ID', plainName, LOCAL.clientId(), { requiredInProduction: true }),
      // NATS Streaming counts the ack wait in whole seconds; JetStream in nanoseconds.
      ackWaitMs: optional('NATS_ACK_WAIT_MS', stan ? wholeSeconds(integerIn(1000, 3_600_000)) : integerIn(1000, 3_600_000), 30_000),
    },
    jetstream: {
      stream: optional('JETSTREAM_STREAM', streamName, 'ticketing'),
      // 0: no age limit, like NATS Streaming's default channel limits.
      maxAgeMs: optional('JETSTREAM_MAX_AGE_MS', integerIn(0, 10 * 365 * 86_400_000), 0),
      duplicateWindowMs: optional('JETSTREAM_DUPLICATE_WINDOW_MS', integerIn(1000, 7 * 86_400_000), 120_000),
    },
    eventMaxDeliveries: optional('EVENT_MAX_DELIVERIES', integerIn(1, 1000), 10),
    stripe: {
      key: optional('STRIPE_KEY', stripeSecretKey, LOCAL.stripeKey, { trim: false, requiredInProduction: true }),
      apiUrl: optional<URL | undefined>('STRIPE_API_URL', httpUrl, undefined),
      currency: optional('STRIPE_CURRENCY', currency, 'usd'),
      timeoutMs: optional('STRIPE_TIMEOUT_MS', integerIn(100, 120_000), 20_000),
      webhookSecret: optional<string | undefined>('STRIPE_WEBHOOK_SECRET', webhookSecret, undefined),
      eventsPollMs: optional('STRIPE_EVENTS_POLL_MS', integerIn(1000, 86_400_000), 60_000),
      // Under Stripe's 25 a second per endpoint (live and test mode alike): one key is one account, so one budget.
      maxRps: optional('STRIPE_MAX_RPS', integerIn(1, 1000), 20),
    },
    requestTimeoutMs: optional('REQUEST_TIMEOUT_MS', integerIn(100, 120_000), 5_000),
    attemptsPerMinute: optional('PAYMENT_ATTEMPTS_PER_MINUTE', integerIn(0, 1_000_000), 10),
    logLevel: optional('LOG_LEVEL', oneOf(LOG_LEVELS), 'info'),
    tracing: tracingConfig(
      optional<URL | undefined>('OTEL_EXPORTER_OTLP_ENDPOINT', httpUrl, undefined),
      optional('OTEL_SERVICE_NAME', plainName, 'payments'),
    ),
    testCrashAt: optional<CrashPoint | undefined>('PAYMENTS_TEST_CRASH_AT', oneOf(CRASH_POINTS), undefined),
  };
  if (config.testCrashAt && env.NODE_ENV === 'production') {
    problems.push('PAYMENTS_TEST_CRASH_AT is a test switch and is refused when NODE_ENV is production');
  }
  const { maxAgeMs, duplicateWindowMs } = config.jetstream;
  if (maxAgeMs > 0 && duplicateWindowMs > maxAgeMs) {
    problems.push('JETSTREAM_DUPLICATE_WINDOW_MS must not exceed JETSTREAM_MAX_AGE_MS (JetStream refuses such a stream)');
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return config;
}

/** Traces are on only with an OTLP endpoint (the standard OTEL_EXPORTER_OTLP_ENDPOINT); OTEL_SERVICE_NAME names the service. */
function tracingConfig(endpoint: URL | undefined, serviceName: string): TracingConfig | undefined {
  return endpoint ? { endpoint, serviceName } : undefined;
}

/**
 * The settings of the operator's CLI: the service's own, read by the same rules, but
 * without JWT_KEY, which it never uses (it checks no session).
 */
export function loadOperatorConfig(env: Env = process.env): Config {
  return loadConfig({ JWT_KEY: 'the operator CLI checks no session', ...env });
}
