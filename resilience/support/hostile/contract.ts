import { readFileSync } from 'node:fs';
import { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { Case } from './cases';

/** The spec: every response is checked against openapi.yaml. */

type Json = Record<string, any>;
const spec = parse(readFileSync(path.join(__dirname, '..', '..', '..', 'openapi.yaml'), 'utf8')) as Json;
const COMPONENTS_ID = 'https://payments.ticketing.dev/openapi/components';
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const toAjv = (node: unknown): any => {
  if (Array.isArray(node)) return node.map(toAjv);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) =>
      key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')
        ? [key, `${COMPONENTS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`]
        : [key, toAjv(value)],
    ),
  );
};
ajv.addSchema({ $id: COMPONENTS_ID, $defs: toAjv(spec.components.schemas) });
const errorSchema = ajv.compile({ $ref: `${COMPONENTS_ID}#/$defs/Error` });

function documentedSchema(route: string, method: string, status: number): ValidateFunction | 'text' | undefined {
  let response = spec.paths?.[route]?.[method]?.responses?.[String(status)] as Json | undefined;
  if (response?.$ref) {
    response = (response.$ref as string).slice(2).split('/').reduce<Json>((node, part) => node?.[part], spec);
  }
  if (!response) return undefined;
  if (response.content?.['application/json']) return ajv.compile(toAjv(response.content['application/json'].schema));
  return response.content?.['text/plain'] ? 'text' : undefined;
}
const schemaCache = new Map<string, ValidateFunction | 'text' | undefined>();
function schemaFor(route: string, method: string, status: number) {
  const key = `${method} ${route} ${status}`;
  if (!schemaCache.has(key)) schemaCache.set(key, documentedSchema(route, method, status));
  return schemaCache.get(key);
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  error?: string;
}

/** What is wrong with a reply, if anything. */
export function judge(c: Case, reply: Reply): string[] {
  const problems: string[] = [];
  if (reply.status === -1) {
    if (!c.mayReset) problems.push(`network error: ${reply.error}`);
    return problems;
  }
  if (reply.status >= 500) problems.push(`5xx: ${reply.status}`);
  if (!c.expect.includes(reply.status)) problems.push(`status ${reply.status}, expected ${c.expect.join(' or ')}`);
  if (reply.status === 431) return problems; // node's own answer, before the app

  const contentType = String(reply.headers['content-type'] ?? '');
  let body: unknown = reply.body;
  if (contentType.startsWith('application/json')) {
    try {
      body = JSON.parse(reply.body);
    } catch {
      problems.push('body is not JSON although its content type says so');
      return problems;
    }
  }
  const route = c.path.split('?')[0];
  const method = c.method.toLowerCase();
  const documented = spec.paths?.[route]?.[method] !== undefined;
  if (documented) {
    const schema = schemaFor(route, method, reply.status);
    if (schema === undefined) problems.push(`status ${reply.status} is not documented for ${c.method} ${route}`);
    else if (schema === 'text') {
      if (!contentType.startsWith('text/plain')) problems.push(`content type ${contentType}, documented text/plain`);
    } else if (!contentType.startsWith('application/json')) problems.push(`content type ${contentType}, documented application/json`);
    else if (!schema(body)) problems.push(`body does not match the spec for ${reply.status}: ${ajv.errorsText(schema.errors)}`);
  } else if (!contentType.startsWith('application/json') || !errorSchema(body)) {
    problems.push(`undocumented route answered without the error shape: ${reply.body.slice(0, 200)}`);
  }

  if (reply.status === 400 && c.field !== undefined && typeof body === 'object' && body !== null) {
    const field = (body as { errors?: Array<{ field?: string }> }).errors?.[0]?.field ?? null;
    if (field !== c.field) problems.push(`400 names field ${String(field)}, expected ${String(c.field)}`);
  }
  const requestId = String(reply.headers['x-request-id'] ?? '');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(requestId)) problems.push(`unsafe X-Request-Id echoed: ${requestId.slice(0, 80)}`);
  if (c.requestId && requestId !== c.requestId) problems.push('a safe X-Request-Id was not kept');
  return problems;
}
