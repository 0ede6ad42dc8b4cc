import SwaggerParser from '@apidevtools/swagger-parser';
import { newId } from './support/harness';
import { OpenApiContract, readSpec, Spec, SPEC_FILE, specAjv } from './support/openapi-contract';

/**
 * openapi.yaml on its own: valid OpenAPI 3.1 with every $ref resolved, every schema
 * compiling as JSON Schema 2020-12 in strict mode, one error shape, and schemas that
 * reject what the contract rules out. Its agreement with the running service is
 * openapi-responses.test.ts.
 */
let written: Spec;
let refs: Awaited<ReturnType<typeof SwaggerParser.resolve>>;
let contract: OpenApiContract;
beforeAll(async () => {
  written = await readSpec();
  refs = await SwaggerParser.resolve(structuredClone(written));
  contract = new OpenApiContract((await SwaggerParser.dereference(structuredClone(written))) as Spec);
});

const json = (status: number, body: unknown) => ({ status, contentType: 'application/json', body });

describe('openapi.yaml itself', () => {
  test('when it is read, then it is OpenAPI 3.1, valid against the OpenAPI schema, and every $ref in it resolves', async () => {
    expect(written.openapi).toMatch(/^3\.1\.\d+$/);
    expect(JSON.stringify(written).match(/"\$ref"/g)!.length).toBeGreaterThan(10);
    await expect(SwaggerParser.validate(SPEC_FILE)).resolves.toMatchObject({ openapi: written.openapi });
  });

  test('when a copy has a $ref to nothing, a response without a description or a misspelt schema keyword, then it is rejected', async () => {
    const brokenRef = structuredClone(written) as any;
    brokenRef.paths['/healthz'].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nothing' };
    await expect(SwaggerParser.validate(brokenRef)).rejects.toThrow(/Nothing/);
    const undescribed = structuredClone(written) as any;
    delete undescribed.paths['/healthz'].get.responses['200'].description;
    await expect(SwaggerParser.validate(undescribed)).rejects.toThrow(/description/);
    const misspelt = structuredClone(written) as any;
    misspelt.components.schemas.ErrorItem.properties.message.minLenght = 1;
    const resolved = (await SwaggerParser.dereference(misspelt)) as Spec;
    expect(() => new OpenApiContract(resolved)).toThrow(/unknown keyword: "minLenght"/);
  });

  test('when its component schemas are compiled as JSON Schema 2020-12 in strict mode, then every one compiles', () => {
    const schemas = contract.spec.components!.schemas!;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['PaymentRequest', 'Payment', 'Error', 'ErrorItem', 'Health', 'Readiness']));
    const ajv = specAjv();
    for (const [name, schema] of Object.entries(schemas)) expect({ name, compiled: typeof ajv.compile(schema) }).toEqual({ name, compiled: 'function' });
  });

  test('when every request and response schema of every operation is compiled, then each compiles', () => {
    // The contract compiled them all, strict, when it was made; a schema Ajv refuses would have thrown there.
    const media = contract.router.getOperations().flatMap((operation) =>
      Object.values(operation.responses ?? {}).flatMap((response) => Object.keys((response as { content?: object }).content ?? {})),
    );
    expect(media.length).toBeGreaterThanOrEqual(16);
    expect(() => new OpenApiContract(contract.spec)).not.toThrow();
  });

  test('when every operation is read, then each response has a description and every error status of POST /api/payments uses the one error shape', () => {
    for (const operation of contract.router.getOperations()) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const { method, path: route } = operation;
        expect({ route, method, status, description: typeof (response as { description?: unknown }).description }).toEqual({ route, method, status, description: 'string' });
      }
    }
    const responses = written.paths!['/api/payments']!.post!.responses as Record<string, any>;
    expect(Object.keys(responses).sort()).toEqual(
      ['201', '202', '400', '401', '402', '404', '409', '413', '415', '429', '500', '502', '503'].sort(),
    );
    for (const status of Object.keys(responses).filter((s) => s !== '201' && s !== '202')) {
      const response = responses[status].$ref ? refs.get(responses[status].$ref) : responses[status]; // a shared response, or its own
      expect({ status, schema: response.content['application/json'].schema }).toEqual({ status, schema: { $ref: '#/components/schemas/Error' } });
    }
    expect(written.paths!['/api/payments']!.post!.security).toEqual([{ sessionCookie: [] }]);
    expect(written.components!.securitySchemes!.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'session' });
  });

  test('when bodies outside the contract are validated, then the schemas reject them', () => {
    const ok = { id: newId(), orderId: newId(), stripeId: 'ch_1', amount: 1999, currency: 'usd', status: 'succeeded', createdAt: new Date().toISOString() };
    const error = (body: unknown) => contract.errorShapeProblems(body);
    const payment = (body: unknown) => contract.responseProblems('post', '/api/payments', json(201, body));
    expect(error({ errors: [{ message: 'Not found' }] })).toEqual([]);
    expect(error({ errors: [{ message: 'token is required', field: 'token' }] })).toEqual([]);
    expect(payment(ok)).toEqual([]);
    const rejected: Array<[(body: unknown) => string[], unknown]> = [
      [error, {}],
      [error, { errors: [] }],
      [error, { errors: [{ message: 'x', stack: 'Error: x\n    at f (file.js:1:1)' }] }],
      [error, { errors: [{ message: '' }] }],
      [error, { errors: [{ message: 'x', field: 'password' }] }],
      [error, { errors: [{ message: 'x' }], trace: 'abc' }],
      [error, { message: 'x' }],
      [payment, { ...ok, amount: 19.99 }],
      [payment, { ...ok, createdAt: 'yesterday' }],
      [payment, { ...ok, status: 'charging' }],
      [payment, (({ id: _id, ...rest }) => rest)(ok)],
    ];
    for (const [problems, value] of rejected) expect({ value, rejected: problems(value).length > 0 }).toEqual({ value, rejected: true });
  });

  test('when an answer has an undocumented status, media type or route, then the contract names what is wrong', () => {
    expect(contract.responseProblems('post', '/api/payments', json(418, { errors: [{ message: 'x' }] }))).toEqual(['POST /api/payments 418 is not documented']);
    expect(contract.responseProblems('get', '/healthz', { status: 200, contentType: 'text/html', body: '<p>ok</p>' })).toEqual([
      'GET /healthz 200: content type text/html, documented application/json',
    ]);
    expect(contract.responseProblems('get', '/metrics', { status: 200, contentType: 'text/plain; version=0.0.4', body: 42 })).not.toEqual([]);
    expect(contract.responseProblems('delete', '/api/payments', json(404, { errors: [{ message: 'x' }] }))).toEqual(['DELETE /api/payments is no documented operation']);
  });
});
