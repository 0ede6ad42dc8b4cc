import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config';

const valid = {
  JWT_KEY: 'k',
  MONGO_URI: 'mongodb://payments-mongo-srv:27017/payments',
  NATS_URL: 'http://nats-srv:4222',
  NATS_CLUSTER_ID: 'ticketing',
  NATS_CLIENT_ID: 'payments-depl-7d9f-abcde',
  STRIPE_KEY: 'sk_test_123',
};

describe('configuration', () => {
  test('when the cluster environment is given, then every setting is read with its defaults', () => {
    expect(loadConfig(valid)).toEqual({
      port: 3000,
      host: undefined,
      jwtKey: 'k',
      mongoUri: valid.MONGO_URI,
      eventBus: 'stan',
      nats: { url: 'nats://nats-srv:4222', clusterId: 'ticketing', clientId: valid.NATS_CLIENT_ID, ackWaitMs: 30_000 },
      jetstream: { stream: 'ticketing', maxAgeMs: 0, duplicateWindowMs: 120_000 },
      stripe: { key: 'sk_test_123', apiUrl: undefined, currency: 'usd', timeoutMs: 20_000, webhookSecret: undefined, eventsPollMs: 60_000, maxRps: 20 },
      eventMaxDeliveries: 10,
      requestTimeoutMs: 5_000,
      attemptsPerMinute: 10,
      logLevel: 'info',
      testCrashAt: undefined,
    });
  });

  test('when OTEL_EXPORTER_OTLP_ENDPOINT is set, then traces are on, named by OTEL_SERVICE_NAME or payments; unset or malformed, they are off or refused', () => {
    expect(loadConfig(valid).tracing).toBeUndefined();
    expect(loadConfig({ ...valid, OTEL_SERVICE_NAME: 'payments-eu' }).tracing).toBeUndefined();
    expect(loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318' }).tracing).toEqual({ endpoint: new URL('http://otel-collector:4318'), serviceName: 'payments' });
    expect(loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example', OTEL_SERVICE_NAME: 'payments-eu' }).tracing?.serviceName).toBe('payments-eu');
    expect(() => loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT must start with http:\/\/ or https:\/\//);
    expect(() => loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'pay ments' })).toThrow(/OTEL_SERVICE_NAME may hold only/);
  });

  test('when STRIPE_MAX_RPS is set, then it is the Stripe call budget; not a whole number from 1 to 1000, it is refused', () => {
    expect(loadConfig({ ...valid, STRIPE_MAX_RPS: '80' }).stripe.maxRps).toBe(80);
    for (const bad of ['0', '1001', '2.5', 'fast']) expect(() => loadConfig({ ...valid, STRIPE_MAX_RPS: bad })).toThrow(/STRIPE_MAX_RPS/);
  });

  test('when NATS_URL uses nats:// and STRIPE_API_URL is set, then both are accepted', () => {
    const config = loadConfig({ ...valid, NATS_URL: 'nats://127.0.0.1:4222', STRIPE_API_URL: 'http://127.0.0.1:12111', STRIPE_CURRENCY: 'EUR' });
    expect(config.nats.url).toBe('nats://127.0.0.1:4222');
    expect(config.stripe.apiUrl?.toString()).toBe('http://127.0.0.1:12111/');
    expect(config.stripe.currency).toBe('eur');
  });

  test('when HOST and REQUEST_TIMEOUT_MS are set, then the service listens there and answers within that', () => {
    const config = loadConfig({ ...valid, HOST: '127.0.0.1', REQUEST_TIMEOUT_MS: '2500' });
    expect(config.host).toBe('127.0.0.1');
    expect(config.requestTimeoutMs).toBe(2500);
  });

  test('when EVENT_BUS is jetstream, then NATS_CLUSTER_ID may be left out, the ack wait may be any ms, and the stream settings are read', () => {
    const { NATS_CLUSTER_ID: _unused, ...env } = valid;
    const config = loadConfig({
      ...env,
      EVENT_BUS: 'jetstream',
      NATS_ACK_WAIT_MS: '1500',
      JETSTREAM_STREAM: 'platform-events',
      JETSTREAM_MAX_AGE_MS: '604800000',
      JETSTREAM_DUPLICATE_WINDOW_MS: '300000',
    });
    expect(config.eventBus).toBe('jetstream');
    expect(config.nats).toEqual({ url: 'nats://nats-srv:4222', clusterId: '', clientId: valid.NATS_CLIENT_ID, ackWaitMs: 1500 });
    expect(config.jetstream).toEqual({ stream: 'platform-events', maxAgeMs: 604_800_000, duplicateWindowMs: 300_000 });
  });

  test('when EVENT_BUS is stan, then NATS_CLUSTER_ID is still required in production', () => {
    const { NATS_CLUSTER_ID: _unused, ...env } = valid;
    expect(() => loadConfig({ ...env, EVENT_BUS: 'stan', NODE_ENV: 'production' })).toThrow('NATS_CLUSTER_ID is required');
  });

  test('when the duplicate window is longer than the stream keeps messages, then start-up fails naming both', () => {
    expect(() => loadConfig({ ...valid, EVENT_BUS: 'jetstream', JETSTREAM_MAX_AGE_MS: '60000', JETSTREAM_DUPLICATE_WINDOW_MS: '120000' })).toThrow(
      /JETSTREAM_DUPLICATE_WINDOW_MS must not exceed JETSTREAM_MAX_AGE_MS/,
    );
  });

  test.each(Object.keys(valid))('when %s is missing in production, then start-up fails naming it', (name) => {
    const env: Record<string, string> = { ...valid, NODE_ENV: 'production' };
    delete env[name];
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`\\b${name} is required\\b`));
    expect(() => loadConfig({ ...env, [name]: ' ' })).toThrow(new RegExp(`\\b${name} is set but empty\\b`));
  });

  test('when only JWT_KEY is given outside production, then the rest points at this machine and Stripe test mode, as docs/CONTRACT.md promises', () => {
    const config = loadConfig({ JWT_KEY: 'k' });
    expect(config.mongoUri).toBe('mongodb://127.0.0.1:27017/payments');
    expect(config.nats).toEqual({ url: 'nats://127.0.0.1:4222', clusterId: 'ticketing', clientId: expect.stringMatching(new RegExp(`^payments-[A-Za-z0-9_.-]+-${process.pid}$`)), ackWaitMs: 30_000 });
    expect(config.stripe.key).toMatch(/^sk_test_/);
    expect(loadConfig({ JWT_KEY: 'k', EVENT_BUS: 'jetstream' }).nats.clusterId).toBe('');
  });

  test('when only JWT_KEY is given in production, then start-up names every setting production must give, and no default', () => {
    expect(() => loadConfig({ JWT_KEY: 'k', NODE_ENV: 'production' })).toThrow(
      'invalid configuration: MONGO_URI is required when NODE_ENV is production; NATS_URL is required when NODE_ENV is production; ' +
        'NATS_CLUSTER_ID is required when NODE_ENV is production; NATS_CLIENT_ID is required when NODE_ENV is production; STRIPE_KEY is required when NODE_ENV is production',
    );
    expect(() => loadConfig({ JWT_KEY: 'k', NODE_ENV: 'production', EVENT_BUS: 'jetstream' })).not.toThrow(/NATS_CLUSTER_ID/);
  });

  test.each([
    ['JWT_KEY', '', 'JWT_KEY is set but empty'],
    ['JWT_KEY', '   ', 'JWT_KEY is set but empty'],
    ['PORT', '33OO', 'PORT must be an integer from 0 to 65535'],
    ['HOST', '999.1.1.1', 'HOST must be an IP address or a host name'],
    ['HOST', '::zz', 'HOST must be an IP address or a host name'],
    ['MONGO_URI', 'mongodb://127.0.0.1:99999/payments', 'MONGO_URI has a port that is not from 1 to 65535'],
    ['MONGO_URI', 'mongodb://a:27017,b:2701x/payments', 'MONGO_URI has a port that is not from 1 to 65535'],
    ['NATS_URL', 'nats://127.0.0.1:99999', 'NATS_URL is not a URL'],
  ])('when %s is %p, then start-up says which setting and what is wrong with it', (name, value, message) => {
    expect(() => loadConfig({ ...valid, [name]: value })).toThrow(message);
  });

  test('when a setting is given in the forms it may take, then it is accepted', () => {
    expect(loadConfig({ ...valid, HOST: '::1' }).host).toBe('::1');
    expect(loadConfig({ ...valid, HOST: 'payments.local' }).host).toBe('payments.local');
    expect(loadConfig({ ...valid, MONGO_URI: 'mongodb://u:p@[::1]:27017,db2/payments?replicaSet=rs' }).mongoUri).toContain('[::1]');
    expect(loadConfig({ ...valid, PORT: '' }).port).toBe(3000);
  });

  test.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['MONGO_URI', 'postgres://db/payments'],
    ['NATS_URL', 'ftp://nats-srv:4222'],
    ['NATS_URL', 'nats-srv'],
    ['NATS_CLIENT_ID', 'has spaces'],
    ['STRIPE_API_URL', 'not a url'],
    ['STRIPE_CURRENCY', 'dollars'],
    ['STRIPE_CURRENCY', 'xau'],
    ['STRIPE_CURRENCY', 'iqd'],
    ['STRIPE_CURRENCY', 'zzz'],
    ['EVENT_MAX_DELIVERIES', '0'],
    ['NATS_ACK_WAIT_MS', '5'],
    ['NATS_ACK_WAIT_MS', '1500'],
    ['EVENT_BUS', 'kafka'],
    ['JETSTREAM_STREAM', 'has.dots'],
    ['JETSTREAM_MAX_AGE_MS', '-1'],
    ['JETSTREAM_DUPLICATE_WINDOW_MS', '10'],
    ['STRIPE_KEY', 'pk_test_publishable'],
    ['LOG_LEVEL', 'loud'],
    ['PAYMENT_ATTEMPTS_PER_MINUTE', '-1'],
    ['PAYMENTS_TEST_CRASH_AT', 'sometime'],
    ['REQUEST_TIMEOUT_MS', '50'],
    ['REQUEST_TIMEOUT_MS', 'soon'],
    ['HOST', 'local host'],
    ['STRIPE_WEBHOOK_SECRET', 'sk_test_not_a_webhook_secret'],
  ])('when %s is %p, then start-up fails naming it', (name, value) => {
    expect(() => loadConfig({ ...valid, [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });

  test('when STRIPE_WEBHOOK_SECRET is given, then it is read, and a malformed one is refused without echoing it', () => {
    expect(loadConfig({ ...valid, STRIPE_WEBHOOK_SECRET: 'whsec_abc123' }).stripe.webhookSecret).toBe('whsec_abc123');
    expect(() => loadConfig({ ...valid, STRIPE_WEBHOOK_SECRET: 'secret-value-xyz' })).toThrow(/STRIPE_WEBHOOK_SECRET must be/);
    expect(() => loadConfig({ ...valid, STRIPE_WEBHOOK_SECRET: 'secret-value-xyz' })).not.toThrow(/secret-value-xyz/);
  });

  test('when the test crash switch is set in production, then start-up refuses it', () => {
    expect(() => loadConfig({ ...valid, NODE_ENV: 'production', PAYMENTS_TEST_CRASH_AT: 'after-charge' })).toThrow(/PAYMENTS_TEST_CRASH_AT/);
    expect(loadConfig({ ...valid, PAYMENTS_TEST_CRASH_AT: 'after-charge' }).testCrashAt).toBe('after-charge');
  });

  test('when several variables are wrong, then the message names all of them and no secret', () => {
    const error = (() => {
      try {
        loadConfig({ ...valid, JWT_KEY: '', NATS_URL: 'ftp://x:1', STRIPE_KEY: 'sk_live_secret' });
      } catch (err) {
        return err as Error;
      }
    })();
    expect(error?.message).toMatch(/JWT_KEY is set but empty/);
    expect(error?.message).toMatch(/NATS_URL must start with/);
    expect(error?.message).not.toContain('sk_live_secret');
  });

  test('when the compiled service starts without JWT_KEY, then it exits 1 naming the variable', () => {
    const entry = path.join(__dirname, '..', 'dist', 'index.js');
    expect(existsSync(entry)).toBe(true); // `npm test` builds first
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...valid };
    delete env.JWT_KEY;
    const run = spawnSync(process.execPath, [entry], { env, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('JWT_KEY is required');
    expect(run.stderr).not.toContain('sk_test_123');
  });
});
