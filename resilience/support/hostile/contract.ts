import { IncomingHttpHeaders } from 'node:http';
import { OpenApiContract } from '../../../test/support/openapi-contract';
import { Case } from './cases';

/** The spec: every response is checked against openapi.yaml, by the same contract as test/openapi-*.test.ts. */

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  error?: string;
}

/** What is wrong with a reply, if anything. */
export function judge(contract: OpenApiContract, c: Case, reply: Reply): string[] {
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
  if (contract.operation(c.method, c.path)) {
    problems.push(...contract.responseProblems(c.method, c.path, { status: reply.status, contentType, body }));
  } else if (!contentType.startsWith('application/json') || contract.errorShapeProblems(body).length > 0) {
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
