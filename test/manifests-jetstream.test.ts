import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config';

// The JetStream option of the cluster (infra/k8s-jetstream), and payments moved onto it.
const root = path.join(__dirname, '..');
const read = (file: string) => parseAllDocuments(readFileSync(path.join(root, file), 'utf8')).map((doc) => doc.toJS() as { kind: string });

const [nats, natsSrv] = read('infra/k8s-jetstream/nats-js-depl.yaml') as [StatefulSet, Service];
const payments = (read('infra/k8s/payments-depl.yaml') as Deployment[]).find((obj) => obj.kind === 'Deployment')!;
const container = nats.spec!.template.spec!.containers[0];
/** What the cluster's secrets would hold, in the shapes config checks. */
const FROM_SECRETS: Record<string, string> = { STRIPE_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x' };

test('when the JetStream manifests are checked against the Kubernetes schema, then they are a StatefulSet and its Service', () => {
  expect([nats.kind, natsSrv.kind]).toEqual(['StatefulSet', 'Service']);
  expect(() => new StatefulSet(nats).validate()).not.toThrow();
  expect(() => new Service(natsSrv).validate()).not.toThrow();
  expect(natsSrv.spec?.selector).toEqual(nats.spec?.template.metadata?.labels);
  expect(nats.spec?.serviceName).toBe(natsSrv.metadata?.name);
});

test('when nats-server starts, then JetStream is on and its store lies on the claimed volume, so a restart keeps streams and consumers', () => {
  const args = container.args ?? [];
  expect(args).toContain('-js');
  const store = args[args.indexOf('-sd') + 1];
  const mount = container.volumeMounts?.find((m) => store.startsWith(`${m.mountPath}/`) || store === m.mountPath);
  expect(mount).toBeDefined();
  expect(nats.spec?.volumeClaimTemplates?.map((claim) => claim.metadata?.name)).toContain(mount?.name);
  expect(natsSrv.spec?.ports?.map((p) => p.port)).toContain(Number(args[args.indexOf('-p') + 1]));
});

test('when payments is pointed at it with EVENT_BUS=jetstream, then the deployment environment is accepted', () => {
  const env = Object.fromEntries(
    (payments.spec!.template.spec!.containers[0].env ?? []).map((e) => [e.name, e.value ?? FROM_SECRETS[e.name] ?? 'from-cluster']),
  );
  expect(env.EVENT_BUS).toBe('stan'); // the platform still runs NATS Streaming
  const port = natsSrv.spec!.ports!.find((p) => p.name === 'client')!.port;
  const config = loadConfig({ ...env, EVENT_BUS: 'jetstream', NATS_URL: `http://${natsSrv.metadata!.name}:${port}` });
  expect(config.eventBus).toBe('jetstream');
  expect(config.nats.url).toBe('nats://nats-js-srv:4222');
});
