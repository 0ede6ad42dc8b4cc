import http from 'node:http';
import { Subjects } from '../src/events/contracts';
import { eventually } from '../test/support/eventually';
import { DECLINED_TOKEN, INVALID_TOKEN } from '../test/support/fake-stripe';
import { ServiceProcess } from '../test/support/service-process';
import { json, post } from './support/hostile/cases';
import { send } from './support/hostile/http';
import { Random, SEED } from './support/hostile/random';
import { cookieWith, signed } from './support/hostile/sessions';
import { HostileStage } from './support/hostile/stage';

/**
 * A hostile client's retries against the compiled service as its own process: a
 * card that failed sent again for the same order. Found by the HTTP campaign
 * (hostile-http.test.ts), replayed here deterministically.
 *
 * `npm run build` first (the test:resilience script does).
 */

describe('hostile input against the service process', () => {
  const stage = new HostileStage();
  let proc: ServiceProcess;
  const rng = new Random(SEED);
  const world = {
    attacker: `attacker-${rng.hex(8)}`,
    attackerCookie: '',
    /** The attacker's orders for the retry scenario. */
    retry: [] as Array<{ id: string }>,
  };

  beforeAll(async () => {
    ({ proc } = await stage.start());
    await stage.openPublisher();
    world.attackerCookie = cookieWith(signed({ id: world.attacker, email: 'attacker@evil.dev' }));
    world.retry = Array.from({ length: 2 }, () => ({ id: rng.id() }));
    const created = (id: string, userId: string) =>
      JSON.stringify({ id, version: 0, status: 'created', userId, expiresAt: new Date().toISOString(), ticket: { id: rng.id(), price: rng.int(5, 200) } });
    for (const o of world.retry) await stage.publish(Subjects.OrderCreated, created(o.id, world.attacker));
    await eventually(async () => expect(await stage.orders.countDocuments({})).toBe(world.retry.length), 30_000, 100);
    await stage.closePublisher();
  }, 120_000);

  afterAll(() => stage.stop(), 60_000);

  describe('a2) a client sending a failed card again (found by the campaign, replayed here deterministically)', () => {
    test('when a declined card, or one Stripe does not know, is sent again for the same order, then the same answer again, and another card still pays the order', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const pay = async (orderId: string, token: string) => {
        const reply = await send(proc.port, agent, post('retry', token, world.attackerCookie, json({ token, orderId }), []));
        return `${token} -> ${reply.status}${reply.status >= 400 ? ` ${reply.body.slice(0, 90)}` : ''}`;
      };
      const [declined, unknown] = world.retry;
      const answers = [
        await pay(declined.id, DECLINED_TOKEN),
        await pay(declined.id, DECLINED_TOKEN),
        await pay(declined.id, 'tok_visa'),
        await pay(unknown.id, INVALID_TOKEN),
        await pay(unknown.id, INVALID_TOKEN),
        await pay(unknown.id, 'tok_visa'),
      ];
      agent.destroy();
      const answered = (token: string, status: number) => expect.stringMatching(new RegExp(`^${token} -> ${status}\\b`));
      expect(answers).toEqual([
        answered(DECLINED_TOKEN, 402),
        answered(DECLINED_TOKEN, 402),
        answered('tok_visa', 201),
        answered(INVALID_TOKEN, 400),
        answered(INVALID_TOKEN, 400),
        answered('tok_visa', 201),
      ]);
    });
  });
});
