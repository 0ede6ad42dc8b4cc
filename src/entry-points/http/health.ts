import { Router } from 'express';
import { Registry } from 'prom-client';

/** Each dependency's state: true when it can be used right now. */
export type ReadinessCheck = () => Promise<Record<string, boolean>>;

/**
 * Probes and metrics for the orchestrator, outside /api/payments (the ingress sends that
 * prefix to the public). Alive means the process answers; ready means every
 * dependency answers, and says which does not.
 */
export function healthRouter(readiness: ReadinessCheck, metrics: Registry): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await readiness();
    const down = Object.keys(checks).filter((name) => !checks[name]);
    res.status(down.length === 0 ? 200 : 503).json({ status: down.length === 0 ? 'ready' : 'unavailable', checks, down });
  });
  return router;
}
