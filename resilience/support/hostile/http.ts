import http from 'node:http';
import { Case } from './cases';
import { openApiContract } from '../../../test/support/openapi-contract';
import { judge, Reply } from './contract';

/** Sending the campaign's requests, CONCURRENCY at a time, each reply judged against the contract. */

export const HTTP_REQUESTS = Number(process.env.HOSTILE_REQUESTS ?? 10_500);
export const CONCURRENCY = 16;

export function send(port: number, agent: http.Agent, c: Case): Promise<Reply> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.body && !c.chunked) headers['content-length'] = String(c.body.length);
    if (c.chunked) headers['transfer-encoding'] = 'chunked';
    const req = http.request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers, agent, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: -1, headers: {}, body: '', error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: -1, headers: {}, body: '', error: err.code ?? err.message }));
    if (c.body) {
      if (c.chunked) {
        for (let i = 0; i < c.body.length; i += 4096) req.write(c.body.subarray(i, i + 4096));
        req.end();
      } else {
        req.end(c.body);
      }
    } else {
      req.end();
    }
  });
}

export async function runAll(cases: () => Case, total: number, sendOne: (c: Case) => Promise<Reply>) {
  const contract = await openApiContract();
  const results: Array<{ index: number; c: Case; reply: Reply; problems: string[]; ms: number }> = [];
  let issued = 0;
  const worker = async () => {
    while (issued < total) {
      const index = issued;
      issued += 1;
      const c = cases(); // generated in index order: the same seed gives the same requests
      const sent = performance.now();
      const reply = await sendOne(c);
      const ms = performance.now() - sent;
      const problems = judge(contract, c, reply);
      if (c.body && c.body.length > 20_000) c.body = Buffer.from(`<${c.body.length} bytes>`);
      results.push({ index, c, reply: { ...reply, body: reply.body.slice(0, 300) }, problems, ms });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results.sort((a, b) => a.index - b.index);
}
