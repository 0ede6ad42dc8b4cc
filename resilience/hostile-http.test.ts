import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Subjects } from '../src/events/contracts';
import { OrderModel } from '../src/data-access/order-model';
import { PaymentModel } from '../src/data-access/payment-model';
import { eventually } from '../test/support/eventually';
import { FakeStripe } from '../test/support/fake-stripe';
import { ServiceProcess } from '../test/support/service-process';
import { Case, json, post, World } from './support/hostile/cases';
import { generator } from './support/hostile/generator';
import { CONCURRENCY, HTTP_REQUESTS, runAll, send } from './support/hostile/http';
import { Random, SEED } from './support/hostile/random';
import { brokenSessions, cookieWith, forgedSessionsFor, signed } from './support/hostile/sessions';
import { HostileStage } from './support/hostile/stage';
import { countBy, table } from './support/hostile/summary';

/**
 * Hostile HTTP input against the compiled service running as its own process, as
 * in production: over 10,000 generated requests (support/hostile/cases-*.ts), 16
 * in flight, aimed at other users' orders, the attacker's own and unknown ones,
 * every answer checked against openapi.yaml. Generated from one seeded PRNG, so
 * a failure reproduces with the seed printed in the summary: HOSTILE_SEED=<seed>.
 * The other hostile suites: hostile-card-retry.test.ts, hostile-events.test.ts.
 *
 * `npm run build` first (the test:resilience script does).
 */

describe('hostile input against the service process', () => {
  const stage = new HostileStage();
  let stripe: FakeStripe;
  let proc: ServiceProcess;
  let orders: OrderModel;
  let payments: PaymentModel;
  let pid: number;
  const rng = new Random(SEED);
  const { publish } = stage;
  const world: World = {
    victims: [],
    own: [],
    retry: [],
    attacker: `attacker-${rng.hex(8)}`,
    attackerCookie: '',
    forged: new Map(),
    broken: [],
  };

  beforeAll(async () => {
    ({ stripe, proc, orders, payments, pid } = await stage.start());
    await stage.openPublisher();
    world.attackerCookie = cookieWith(signed({ id: world.attacker, email: 'attacker@evil.dev' }));
    world.broken = brokenSessions(rng);
    const victimUsers = Array.from({ length: 5 }, () => `victim-${rng.hex(8)}`);
    for (const userId of victimUsers) world.forged.set(userId, forgedSessionsFor(userId));
    world.victims = Array.from({ length: 20 }, (_, i) => ({ id: rng.id(), userId: victimUsers[i % victimUsers.length] }));
    world.own = Array.from({ length: 25 }, () => ({ id: rng.id() }));
    world.retry = Array.from({ length: 2 }, () => ({ id: rng.id() }));
    const created = (id: string, userId: string) =>
      JSON.stringify({ id, version: 0, status: 'created', userId, expiresAt: new Date().toISOString(), ticket: { id: rng.id(), price: rng.int(5, 200) } });
    for (const v of world.victims) await publish(Subjects.OrderCreated, created(v.id, v.userId));
    for (const o of [...world.own, ...world.retry]) await publish(Subjects.OrderCreated, created(o.id, world.attacker));
    const total = world.victims.length + world.own.length + world.retry.length;
    await eventually(async () => expect(await orders.countDocuments({})).toBe(total), 30_000, 100);
    // Closed during the HTTP campaign: an idle client that misses the server's heartbeats
    // (every 1 s, dropped after 2) while this process is busy would be dropped by the server.
    await stage.closePublisher();
  }, 120_000);

  afterAll(() => stage.stop(), 60_000);

  describe(`a) ${HTTP_REQUESTS} generated HTTP requests, ${CONCURRENCY} in flight`, () => {
    let results: Awaited<ReturnType<typeof runAll>>;
    let canaries: Awaited<ReturnType<typeof runAll>>;
    const victimIds = () => new Set(world.victims.map((v) => v.id));

    beforeAll(async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const loop = monitorEventLoopDelay({ resolution: 20 });
      loop.enable();
      const started = Date.now();
      results = await runAll(generator(rng, world), HTTP_REQUESTS, (c) => send(proc.port, agent, c));
      // After everything: would a polluted prototype let an empty body through?
      let n = 0;
      const canary = (): Case => {
        n += 1;
        const bodies: Array<[unknown, string]> = [[{}, 'token'], [{ token: 'tok_visa' }, 'orderId'], [{ orderId: rng.id() }, 'token']];
        const [body, field] = bodies[n % bodies.length];
        return post('final canary', String(n % bodies.length), world.attackerCookie, json(body), [400], { field });
      };
      canaries = await runAll(canary, 60, (c) => send(proc.port, agent, c));
      agent.destroy();
      loop.disable();
      const seconds = (Date.now() - started) / 1000;
      const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
      const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(0);

      const all = [...results, ...canaries];
      const byStatus = [...countBy(all, (r) => String(r.reply.status))].sort();
      const victimIdList = world.victims.map((v) => v.id);
      const touched = {
        stripe: world.victims.filter((v) => stripe.requestsFor(v.id).length > 0).length,
        payments: (await payments.distinct('orderId', { orderId: { $in: victimIdList } })).length,
        changed: await orders.countDocuments({ _id: { $in: victimIdList }, $or: [{ status: { $ne: 'created' } }, { version: { $ne: 0 } }] }),
      };
      const problems = all.filter((r) => r.problems.length > 0);
      console.log(
        table(`hostile HTTP campaign (seed ${SEED}, ${seconds.toFixed(1)} s, ${(all.length / seconds).toFixed(0)} req/s)`, [
          ['requests', all.length],
          ...byStatus.map(([status, count]): [string, number] => [`  status ${status === '-1' ? 'network error' : status}`, count]),
          ['5xx', all.filter((r) => r.reply.status >= 500).length],
          ['requests with a problem', problems.length],
          ['crashes (process exited)', proc.exit ? 1 : 0],
          [`others' orders (${world.victims.length}) called at Stripe / paid / changed`, `${touched.stripe} / ${touched.payments} / ${touched.changed}`],
          ['requests aimed at others\' orders', all.filter((r) => r.c.body && victimIdList.some((id) => r.c.body!.toString('latin1').toLowerCase().includes(id))).length],
          ['latency p50 / p99 / max (ms)', `${percentile(0.5)} / ${percentile(0.99)} / ${latencies[latencies.length - 1].toFixed(0)}`],
          ['test process event-loop delay max (ms)', (loop.max / 1e6).toFixed(0)],
        ]),
      );
      const byKind = [...countBy(all, (r) => r.c.kind)].map(([kind, count]): [string, string] => {
        const bad = all.filter((r) => r.c.kind === kind && r.problems.length > 0).length;
        const statuses = [...countBy(all.filter((r) => r.c.kind === kind), (r) => String(r.reply.status))].map(([s, c]) => `${s}:${c}`).join(' ');
        const ms = all.filter((r) => r.c.kind === kind).map((r) => r.ms).sort((x, y) => x - y);
        return [`${kind} [${statuses}] p50 ${ms[Math.floor(ms.length / 2)].toFixed(0)} ms`, bad === 0 ? `${count} ok` : `${bad}/${count} BAD`];
      });
      console.log(table('by kind of request [status:count]', byKind));
      if (problems.length > 0) {
        const grouped = [...countBy(problems, (r) => `${r.c.kind} / ${r.c.variant}: ${r.problems.join('; ').replace(/[0-9a-f]{24}/g, '<id>').slice(0, 160)}`)];
        console.log(table('problems (kind / variant: what)', grouped.map(([what, count]) => [what, count])));
        const examples = new Map<string, (typeof problems)[number]>();
        for (const r of problems) if (!examples.has(`${r.c.kind}/${r.c.variant}`)) examples.set(`${r.c.kind}/${r.c.variant}`, r);
        console.log(
          `first example of each problem (seed ${SEED}):\n${[...examples.values()].slice(0, 15).map((r) =>
            `#${r.index} ${r.c.method} ${r.c.path.slice(0, 80)} headers=${JSON.stringify({ ...r.c.headers, cookie: r.c.headers.cookie?.slice(0, 60) })} body=${JSON.stringify(r.c.body?.toString('utf8').slice(0, 120))}\n    -> ${r.reply.status} ${r.reply.body.slice(0, 160)} :: ${r.problems.join('; ')}`,
          ).join('\n')}`,
        );
      }
    }, 200_000);

    test('when they have been answered, then the process never exited and /healthz answers 200', async () => {
      expect(results.length).toBeGreaterThanOrEqual(10_000);
      expect(proc.exit).toBeUndefined();
      expect(proc.pid).toBe(pid);
      const health = await fetch(`${proc.url}/healthz`);
      expect(health.status).toBe(200);
    });

    test('when they have been answered, then no order of another user was charged, recorded as paid or changed', async () => {
      const ids = [...victimIds()];
      const aimedAtVictims = results.filter((r) => r.c.body && ids.some((id) => r.c.body!.toString('latin1').toLowerCase().includes(id))).length;
      expect(aimedAtVictims).toBeGreaterThan(HTTP_REQUESTS / 5);
      expect(stripe.requests.filter((r) => victimIds().has(r.params['metadata[orderId]']))).toEqual([]);
      expect(stripe.charges.filter((c) => victimIds().has(c.metadata.orderId))).toEqual([]);
      expect(await payments.find({ orderId: { $in: ids } }).lean()).toEqual([]);
      const stored = await orders.find({ _id: { $in: ids } }).lean();
      expect(stored).toHaveLength(ids.length);
      for (const order of stored) {
        const victim = world.victims.find((v) => v.id === order._id)!;
        expect({ id: order._id, userId: order.userId, status: order.status, version: order.version }).toEqual({
          id: victim.id, userId: victim.userId, status: 'created', version: 0,
        });
      }
    });

    test('when they have been answered, then the attacker\'s own orders were each charged at most once, and only ever to them', async () => {
      const own = new Set(world.own.map((o) => o.id));
      expect(results.filter((r) => r.reply.status === 201).length).toBeGreaterThan(0);
      for (const { id } of world.own) {
        expect({ id, charges: stripe.chargesFor(id).length <= 1 }).toEqual({ id, charges: true });
        expect({ id, payments: (await payments.countDocuments({ orderId: id, state: { $ne: 'failed' } })) <= 1 }).toEqual({ id, payments: true });
      }
      expect(stripe.charges.filter((c) => !own.has(c.metadata.orderId) && !world.retry.some((o) => o.id === c.metadata.orderId))).toEqual([]);
      expect(await payments.countDocuments({ userId: { $ne: world.attacker } })).toBe(0);
    });

    test('when they have been answered, then Stripe was only ever asked to charge a card token the client sent (trimmed), for that order', () => {
      const sent = new Map<string, Set<string>>();
      for (const r of results.filter((x) => x.c.kind.startsWith('own order'))) {
        const { token, orderId } = JSON.parse(r.c.body!.toString('utf8')) as { token: string; orderId: string };
        sent.set(orderId, (sent.get(orderId) ?? new Set()).add(token.trim()));
      }
      const own = new Set(world.own.map((o) => o.id));
      // A PaymentIntent names a PaymentMethod; the fake knows the token each one was made from.
      const card = (params: Record<string, string>) => params.source ?? (params.payment_method ? stripe.tokenOf(params.payment_method) : undefined);
      const foreign = stripe.requests
        .filter((r) => own.has(r.params['metadata[orderId]']))
        .filter((r) => !sent.get(r.params['metadata[orderId]'])?.has(card(r.params)!))
        .map((r) => `${r.params['metadata[orderId]']}: source ${JSON.stringify(card(r.params))} was never sent`);
      expect([...new Set(foreign)]).toEqual([]);
    });

    test('when they have been answered and recovery has had its turn, then no payment is left "charging" (every order is paid or payable)', async () => {
      // With Stripe answering normally, every claim an attempt left unresolved must be resolved by recovery.
      const stuck = async () => {
        const charging = await payments.find({ state: 'charging' }).lean();
        return charging.map((p) => {
          const reasons = proc.entries().filter((e) => e.orderId === p.orderId && typeof e.reason === 'string').map((e) => String(e.reason));
          return `${p.orderId} attempts=${p.chargeAttempts}: ${(reasons[reasons.length - 1] ?? '').slice(0, 140)}`;
        });
      };
      try {
        await eventually(async () => expect(await stuck()).toEqual([]), 20_000, 1000);
      } catch {
        expect(await stuck()).toEqual([]);
      }
    }, 60_000);

    test('when they have been answered, then none was a 5xx', () => {
      const failures = [...results, ...canaries].filter((r) => r.reply.status >= 500);
      expect(failures.map((r) => `${r.c.kind} / ${r.c.variant}: ${r.c.method} ${r.c.path.slice(0, 60)} -> ${r.reply.status}`)).toEqual([]);
    });

    test('when they have been answered, then every answer was documented, in the spec\'s shape, and the status the contract gives', () => {
      const failures = [...results, ...canaries].filter((r) => r.problems.length > 0);
      const summary = [...countBy(failures, (r) => `${r.c.kind} / ${r.c.variant}: ${r.problems.join('; ').replace(/[0-9a-f]{24}/g, '<id>').slice(0, 200)}`)];
      expect(summary).toEqual([]);
    });

    test('when a polluted prototype would make an empty body valid, then the canaries still get 400 naming the field', () => {
      expect(canaries).toHaveLength(60);
      expect(canaries.filter((r) => r.reply.status !== 400 || r.problems.length > 0).map((r) => r.reply)).toEqual([]);
    });

    test('when unknown paths are requested, then the HTTP metrics do not grow a series per path', async () => {
      const text = await (await fetch(`${proc.url}/metrics`)).text();
      const routes = new Set(
        text
          .split('\n')
          .filter((line) => line.startsWith('payments_http_request_duration_seconds_count{route="'))
          .map((line) => line.slice('payments_http_request_duration_seconds_count{route="'.length, line.lastIndexOf('",status="'))),
      );
      // The documented routes and the catch-all's pattern (or 'unknown'): a fixed set, whatever the paths asked for.
      const bounded = ['/api/payments', '/api/payments/:id', '/api/payments/webhooks/stripe', '/healthz', '/readyz', '/metrics', '/{*splat}', 'unmatched'];
      expect(routes.size).toBeGreaterThan(1);
      expect([...routes].filter((route) => !bounded.includes(route)).map((r) => r.slice(0, 60))).toEqual([]);
    });
  });
});
