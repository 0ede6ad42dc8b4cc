import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ConfigError, loadConfig } from '../src/config';

/**
 * docker-compose.yml cannot run here (no Docker engine): it is checked statically,
 * against what src/config.ts requires and against its own services.
 */
const root = path.join(__dirname, '..');
interface ComposeService {
  image?: string;
  build?: { context: string; target?: string };
  environment?: Record<string, string>;
  ports?: string[];
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: object;
}
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService>; volumes?: object };
const payments = compose.services.payments;
const env = payments.environment ?? {};

/** Compose's interpolation: ${NAME:-default} takes the default, ${NAME:?message} needs a value from the shell. */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind?: string, rest?: string) => {
    if (shell[name]) return shell[name];
    if (kind === '-') return rest ?? '';
    throw new Error(`${name} must be set: ${rest}`);
  });
}

const configSource = readFileSync(path.join(root, 'src', 'config.ts'), 'utf8');
const configNames = [...configSource.matchAll(/(required|optional)(<[^>]*>)?\('([A-Z_]+)'/g)].map((m) => ({ kind: m[1], name: m[3] }));

describe('docker-compose.yml, checked statically', () => {
  test('when its services are read, then the service runs the production image with real mongo, nats-streaming and stripe-mock images, each pinned', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['mongo', 'nats', 'payments', 'stripe-mock']);
    expect(payments.build).toEqual({ context: '.', target: 'runtime' });
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(/^FROM \S+ AS runtime$/m);
    expect(compose.services.mongo.image).toMatch(/^mongo:\d+\.\d+\.\d+$/);
    expect(compose.services.nats.image).toMatch(/^nats-streaming:\d+\.\d+\.\d+$/);
    expect(compose.services['stripe-mock'].image).toMatch(/^stripe\/stripe-mock:v\d+\.\d+\.\d+$/);
  });

  test('when the service\'s environment is read, then every name is one config.ts reads and every required one is set', () => {
    const names = Object.keys(env);
    expect(configNames.map((n) => n.name)).toEqual(expect.arrayContaining(names));
    expect(names).toEqual(expect.arrayContaining(configNames.filter((n) => n.kind === 'required').map((n) => n.name)));
  });

  test('when it is started with JWT_KEY in the shell, then config.ts accepts the environment; without it, compose refuses', () => {
    const config = loadConfig(Object.fromEntries(Object.entries(env).map(([name, value]) => [name, interpolate(value, { JWT_KEY: 'a-long-shared-key' })])));
    expect(config.port).toBe(3000);
    expect(() => interpolate(env.JWT_KEY, {})).toThrow(/JWT_KEY must be set/);
    expect(() => loadConfig({})).toThrow(ConfigError);
  });

  test('when the service connects, then MongoDB, NATS and Stripe are services of this file, on their ports, with the cluster id NATS runs', () => {
    const shell = { JWT_KEY: 'k' };
    const mongo = new URL(interpolate(env.MONGO_URI, shell));
    const nats = new URL(interpolate(env.NATS_URL, shell));
    const stripe = new URL(interpolate(env.STRIPE_API_URL, shell));
    expect([mongo.hostname, mongo.port]).toEqual(['mongo', '27017']);
    expect([nats.hostname, nats.port]).toEqual(['nats', '4222']);
    expect([stripe.hostname, stripe.port]).toEqual(['stripe-mock', '12111']);
    const command = compose.services.nats.command ?? [];
    expect(command[command.indexOf('-cid') + 1]).toBe(env.NATS_CLUSTER_ID);
    expect(Object.keys(payments.depends_on ?? {}).sort()).toEqual(['mongo', 'nats', 'stripe-mock']);
    expect(payments.depends_on?.mongo.condition).toBe('service_healthy');
    expect(compose.services.mongo.healthcheck).toBeDefined();
  });

  test('when it publishes the service, then the container port is PORT and only on loopback', () => {
    expect(payments.ports).toEqual([`127.0.0.1:3000:${env.PORT}`]);
  });
});
