import { BODY_LIMIT, Case, Gen, json, JSON_TYPE, post } from './cases';

/**
 * How the request travels: content types and their parameters, content
 * encodings, sizes around the body limit, the query string, huge headers, and
 * other paths and methods.
 */
export function transportCases({ rng, world, victim, session, parsedProbe, compressed }: Gen) {
  return {
    // Content types that are not JSON: the body is not read, so token is missing.
    contentTypeNotJson: (): Case => {
      const v = victim().id;
      const [variant, contentType, body] = rng.pick<[string, string | undefined, Buffer]>([
        ['text/plain', 'text/plain', json({ token: 'tok_visa', orderId: v })],
        ['form', 'application/x-www-form-urlencoded', Buffer.from(`token=tok_visa&orderId=${v}`)],
        ['multipart', 'multipart/form-data; boundary=x', Buffer.from(`--x\r\nContent-Disposition: form-data; name="token"\r\n\r\ntok_visa\r\n--x--`)],
        ['xml', 'application/xml', Buffer.from('<token>tok_visa</token>')],
        ['no content type', undefined, json({ token: 'tok_visa', orderId: v })],
        ['vendor +json', 'application/vnd.api+json', json({ token: 'tok_visa', orderId: v })],
        ['octet-stream', 'application/octet-stream', rng.bytes(200)],
        ['garbage type', ';;;', json({ token: 'tok_visa', orderId: v })],
      ]);
      const headers: Record<string, string> = { cookie: session() };
      if (contentType) headers['content-type'] = contentType;
      return { kind: 'content type not JSON', variant, method: 'POST', path: '/api/payments', headers, body, expect: [400], field: 'token' };
    },
    // JSON content types with unusual parameters.
    jsonContentTypeParameters: (): Case => {
      const v = victim().id;
      const [variant, contentType, statuses, field] = rng.pick<[string, string, number[], string | null]>([
        ['charset=latin1', 'application/json; charset=latin1', [415], null],
        ['charset=iso-8859-1', 'application/json; charset=iso-8859-1', [415], null],
        ['charset=ascii', 'application/json; charset=ascii', [415], null],
        ['charset=utf-8', 'application/json; charset=utf-8', [400], 'orderId'],
        ['charset=UTF-8', 'application/json; charset=UTF-8', [400], 'orderId'],
        ['upper-case type', 'APPLICATION/JSON', [400], 'orderId'],
        ['charset=utf-16 (body is utf-8)', 'application/json; charset=utf-16', [400], null],
      ]);
      return { ...post('JSON content type parameters', variant, session(), json(parsedProbe(v)), statuses, { field }), headers: { 'content-type': contentType, cookie: session() } };
    },
    // Content encodings, valid and broken.
    contentEncoding: (): Case => {
      const v = victim().id;
      const { valid, gzip, deflate, br, bomb } = compressed(v);
      const variants: Array<[string, string, Buffer, number[]]> = [
        ['gzip', 'gzip', gzip, [400]],
        ['deflate', 'deflate', deflate, [400]],
        ['br', 'br', br, [400]],
        ['identity', 'identity', valid, [400]],
        ['gzip that inflates past 10 kB', 'gzip', bomb, [413]],
        ['unsupported: compress', 'compress', valid, [415]],
        ['unsupported: zstd', 'zstd', valid, [415]],
        ['gzip header, body not gzip', 'gzip', valid, [400]],
        ['deflate header, body not deflate', 'deflate', valid, [400]],
        ['br header, body not brotli', 'br', Buffer.from('this is not a brotli stream, it is plain text'), [400]],
        ['truncated gzip', 'gzip', gzip.subarray(0, 20), [400]],
      ];
      const [variant, encoding, body, statuses] = rng.pick(variants);
      const c = post('content encoding', variant, session(), body, statuses, { field: ['gzip', 'deflate', 'br', 'identity'].includes(variant) ? 'orderId' : null });
      c.headers['content-encoding'] = encoding;
      return c;
    },
    // Sizes around the 10 kB limit, and far past it.
    bodySize: (): Case => {
      const v = victim().id;
      // Past the limit the server may answer 413 and close before it has read everything.
      const [variant, size, statuses, mayReset] = rng.pick<[string, number, number[], boolean]>([
        ['10,239 bytes', BODY_LIMIT - 1, [400], false],
        ['10,240 bytes (the limit)', BODY_LIMIT, [400], false],
        ['10,241 bytes', BODY_LIMIT + 1, [413], true],
        ['10,300 bytes', BODY_LIMIT + 60, [413], true],
        ['100 kB', 100_000, [413], true],
        ['1 MB', 1_000_000, [413], true],
      ]);
      const head = `{"token":"tok_visa","orderId":"${parsedProbe(v).orderId}","pad":"`;
      const body = Buffer.from(`${head}${'p'.repeat(size - head.length - 2)}"}`);
      if (body.length !== size) throw new Error(`generator: body of ${body.length} bytes, meant ${size}`);
      return post('body size', variant, session(), body, statuses, { mayReset, chunked: rng.bool(0.3), field: statuses[0] === 400 ? 'orderId' : null });
    },
    // The query string is not the body.
    queryString: (): Case => {
      const own = rng.pick(world.own).id;
      const c = post('query string', 'token and orderId in the query', session(), json({}), [400], { field: 'token' });
      c.path = `/api/payments?token=tok_visa&orderId=${own}&__proto__[token]=tok_visa`;
      return c;
    },
    // Headers over node's 16 kB limit: node answers 431 itself.
    hugeHeaders: (): Case => post('huge headers', 'cookie of 20 kB', `session=${'A'.repeat(20_000)}`, json({ token: 'tok_visa', orderId: victim().id }), [431], { mayReset: true }),
    // Other paths and methods.
    otherPaths: (): Case => {
      const [variant, method, route, statuses] = rng.pick<[string, string, string, number[]]>([
        ['GET /api/payments', 'GET', '/api/payments', [400, 401]],
        ['PUT /api/payments', 'PUT', '/api/payments', [404]],
        ['DELETE /api/payments', 'DELETE', '/api/payments', [404]],
        ['PATCH /api/payments', 'PATCH', '/api/payments', [404]],
        ['GET /api/payments/<id>', 'GET', `/api/payments/${victim().id}`, [401, 404]],
        ['DELETE /api/payments/<id>', 'DELETE', `/api/payments/${victim().id}`, [404]],
        ['POST /api/payments/<id>/refund', 'POST', `/api/payments/${victim().id}/refund`, [404]],
        ['traversal', 'GET', '/api/payments/..%2f..%2f..%2fetc%2fpasswd', [400, 401, 404]],
        ['dot segments', 'GET', '/api/payments/%2e%2e/%2e%2e/healthz/x', [404]],
        ['random path', 'GET', `/${rng.string(rng.int(1, 40))}`, [404]],
        ['long path', 'GET', `/${'a'.repeat(7000)}`, [404]],
        ['malformed escape %ff', 'GET', `/api/payments/%ff${rng.string(4)}`, [400, 404]],
        ['malformed escape %E0%A4%A', 'GET', '/%E0%A4%A', [400, 404]],
        ['malformed escape %', 'GET', `/${rng.string(3)}%`, [400, 404]],
        ['proto in query', 'GET', '/api/payments?__proto__[polluted]=1&constructor[prototype][x]=1', [400, 401]],
        ['GET /healthz', 'GET', '/healthz', [200]],
        ['GET /healthz with a query', 'GET', `/healthz?${rng.string(10)}=${rng.string(10)}`, [200]],
        ['GET /readyz', 'GET', '/readyz', [200]],
        ['GET /metrics', 'GET', '/metrics', [200]],
        ['POST /healthz', 'POST', '/healthz', [404]],
        ['POST /metrics', 'POST', '/metrics', [404]],
      ]);
      const headers: Record<string, string> = rng.bool() ? { cookie: session() } : {};
      return { kind: 'other paths', variant, method, path: route, headers, expect: statuses };
    },
    // Other paths, with bodies the JSON parser refuses before the 404.
    otherPathsWithBody: (): Case => {
      const route = `/${rng.pick(['api/payments/x', 'api/orders', 'admin', rng.string(12)])}`;
      const [variant, body, contentType, statuses] = rng.pick<[string, Buffer, string, number[]]>([
        ['invalid JSON', Buffer.from('{"a":'), JSON_TYPE, [400, 404]],
        ['body over 10 kB', Buffer.from(JSON.stringify({ pad: 'p'.repeat(BODY_LIMIT) })), JSON_TYPE, [413, 404]],
        ['charset=latin1', Buffer.from('{}'), 'application/json; charset=latin1', [415, 404]],
        ['valid JSON', json({ token: 'tok_visa', orderId: victim().id }), JSON_TYPE, [404]],
      ]);
      return { kind: 'other paths with a body', variant, method: rng.pick(['POST', 'PUT', 'PATCH']), path: route, headers: { 'content-type': contentType, cookie: session() }, body, expect: statuses };
    },
  };
}
