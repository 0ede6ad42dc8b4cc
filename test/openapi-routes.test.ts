import { METHODS } from 'node:http';
import { Express } from 'express';
import request from 'supertest';
import { newId, sessionCookie } from './support/harness';
import { OpenApiContract, openApiContract } from './support/openapi-contract';
import { PaymentsFixture } from './support/payments-fixture';

/**
 * openapi.yaml's operations against the app's router: the spec documents exactly
 * the routes the app serves, and every other route answers 404 in the error shape.
 */
let contract: OpenApiContract;
const fx = new PaymentsFixture();
beforeAll(async () => {
  contract = await openApiContract();
  await fx.start({ stripe: 'fake' });
});
afterAll(() => fx.stop());

describe('the routes the app serves', () => {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  // app.all() registers the route for every method node knows: that is the catch-all.
  const served = (stack: Layer[]): Array<{ method: string; path: string }> =>
    stack.flatMap((layer) => {
      if (layer.route) {
        const methods = Object.keys(layer.route.methods);
        const all = METHODS.every((method) => methods.includes(method.toLowerCase()));
        return all ? [{ method: 'ALL', path: layer.route.path }] : methods.map((method) => ({ method, path: layer.route!.path }));
      }
      // Routers mounted with app.use(router), at the root.
      if (layer.handle?.stack) return served(layer.handle.stack);
      return [];
    });

  test('when the express router is read, then its routes are exactly the documented operations, plus the 404 fallback', () => {
    const app = fx.service.server.listeners('request')[0] as Express & { router: { stack: Layer[] } };
    const routes = served(app.router.stack);
    const fallback = routes.filter((route) => route.method === 'ALL');
    expect(fallback).toEqual([{ method: 'ALL', path: '/{*splat}' }]);
    expect(routes[routes.length - 1]).toEqual(fallback[0]);

    const actual = routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method.toUpperCase()} ${route.path}`);
    const documented = contract.router.getOperations().map(({ method, path: route }) => `${method.toUpperCase()} ${route.replace(/\{(\w+)\}/g, ':$1')}`);
    expect(actual.sort()).toEqual([
      'GET /api/payments', 'GET /api/payments/:id', 'GET /healthz', 'GET /metrics', 'GET /readyz', 'POST /api/payments', 'POST /api/payments/webhooks/stripe',
    ]);
    expect(documented.sort()).toEqual(actual.sort());
  });

  const probes: Array<[string, string]> = [
    ['put', '/api/payments'],
    ['patch', '/api/payments'],
    ['delete', '/api/payments'],
    ['get', `/api/payments/${newId()}`],
    ['post', `/api/payments/${newId()}`],
    ['get', `/api/payments/${newId()}/refund`],
    ['post', '/api/payments/refunds'],
    ['post', '/api/payment'],
    ['post', '/healthz'],
    ['put', '/readyz'],
    ['delete', '/metrics'],
    ['get', '/'],
    ['get', '/api'],
    ['get', '/api/orders'],
    ['get', '/admin'],
    ['get', '/.env'],
    ['get', '/debug/vars'],
    ['get', '/metrics/extra'],
  ];
  test.each(probes)('when %s %s (undocumented) is requested, then 404 in the error shape', async (method, route) => {
    const res = await request(fx.service.server)[method as 'get'](route).set('Cookie', sessionCookie({ id: newId() }));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(contract.errorShapeProblems(res.body)).toEqual([]);
  });
});
