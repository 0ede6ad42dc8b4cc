import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig } from '../src/config';
import { serviceNodeArgs } from '../scripts/service-node-args';

const root = path.join(__dirname, '..');
const k8sDir = path.join(root, 'infra', 'k8s');
/** Applied by skaffold's before-deploy hook, never listed in its manifests: skaffold never deletes them. */
const volumesDir = path.join(root, 'infra', 'k8s-volumes');

function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) return [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return docs.map((doc) => doc.toJS() as unknown).filter((obj) => obj != null);
}

// Only kinds listed here may appear: an unknown apiVersion/kind (a typo, a removed API) fails.
const models: Record<string, (data: object) => { validate(): void }> = {
  'apps/v1 Deployment': (data) => new Deployment(data as Deployment),
  'v1 Service': (data) => new Service(data as Service),
  'v1 PersistentVolumeClaim': (data) => new PersistentVolumeClaim(data as PersistentVolumeClaim),
  'v1 ConfigMap': (data) => new ConfigMap(data as ConfigMap),
};

const manifestFiles = readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const objects = manifestFiles.flatMap((file) =>
  readYamlDocuments(path.join(k8sDir, file)).map((obj) => ({ file, obj: obj as { apiVersion?: string; kind?: string; metadata?: { name?: string } } })),
);

const volumeFiles = readdirSync(volumesDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const volumeObjects = volumeFiles.flatMap((file) =>
  readYamlDocuments(path.join(volumesDir, file)).map((obj) => ({ file, obj: obj as { apiVersion?: string; kind?: string; metadata?: { name?: string } } })),
);

function find<T>(kind: string, name: string, among = objects): T {
  const found = among.filter(({ obj }) => obj.kind === kind && obj.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0].obj as T;
}

/**
 * The ConfigMaps docs/cluster.md has operators make from infra/monitoring (the same
 * names, keys and label as its `kubectl create configmap` commands).
 */
const monitoringDir = path.join(root, 'infra', 'monitoring');
const monitoringConfigMaps = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'payments-alerts' }, data: { 'alerts.yaml': readFileSync(path.join(monitoringDir, 'alerts.yaml'), 'utf8') } },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'payments-dashboard', labels: { grafana_dashboard: '1' } },
    data: { 'payments-dashboard.json': readFileSync(path.join(monitoringDir, 'dashboard.json'), 'utf8') },
  },
];

const payments = find<Deployment>('Deployment', 'payments-depl');
const paymentsPod = payments.spec!.template.spec!;
const paymentsContainer = paymentsPod.containers[0];
const env = paymentsContainer.env ?? [];
const configSource = readFileSync(path.join(root, 'src', 'config.ts'), 'utf8');
const configNames = [...configSource.matchAll(/(required|optional)(<[^>]*>)?\('([A-Z_]+)'/g)].map((m) => ({ kind: m[1], name: m[3] }));
const requiredNames = configNames.filter((n) => n.kind === 'required').map((n) => n.name);

interface SkaffoldBuild {
  local?: { push?: boolean };
  artifacts: Array<{ image: string; context?: string; docker?: { target?: string }; sync?: { manual?: Array<{ src: string; dest: string }> } }>;
}
const skaffold = readYamlDocuments(path.join(root, 'skaffold.yaml'))[0] as {
  apiVersion: string;
  kind: string;
  build: SkaffoldBuild;
  manifests: { rawYaml: string[] };
  deploy: { kubectl?: { hooks?: { before?: Array<{ host?: { command: string[]; os?: string[]; dir?: string } }> } } };
  profiles?: Array<{ name: string; activation?: Array<{ command?: string }>; build?: SkaffoldBuild }>;
};
const profile = (name: string) => skaffold.profiles?.find((p) => p.name === name);
const dockerStages = [...readFileSync(path.join(root, 'Dockerfile'), 'utf8').matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);

describe('kubernetes manifests and skaffold', () => {
  test('when infra/k8s and infra/k8s-volumes are read, then they hold the five objects of the service and its database, the claim apart', () => {
    expect(objects.map(({ obj }) => `${obj.kind}/${obj.metadata?.name}`).sort()).toEqual([
      'Deployment/payments-depl',
      'Deployment/payments-mongo-depl',
      'Service/payments-mongo-srv',
      'Service/payments-srv',
    ]);
    expect(volumeObjects.map(({ obj }) => `${obj.kind}/${obj.metadata?.name}`)).toEqual(['PersistentVolumeClaim/payments-mongo-pvc']);
  });

  test.each([...objects, ...volumeObjects, ...monitoringConfigMaps.map((obj) => ({ file: 'infra/monitoring', obj }))].map(({ file, obj }) => [`${file} ${obj.kind}/${obj.metadata?.name}`, obj] as const))(
    'when %s is checked against the Kubernetes schema, then it is valid',
    (_, obj) => {
      const model = models[`${obj.apiVersion} ${obj.kind}`];
      expect(model).toBeDefined();
      expect(() => model(obj).validate()).not.toThrow();
    },
  );

  test('when config.ts is scanned, then its required names are exactly those start-up reports missing', () => {
    const missing = (() => {
      try {
        loadConfig({});
      } catch (err) {
        if (err instanceof ConfigError) return [...err.message.matchAll(/([A-Z_]+) is required/g)].map((m) => m[1]);
      }
      return [];
    })();
    expect(missing.length).toBeGreaterThan(0);
    expect([...requiredNames].sort()).toEqual(missing.sort());
  });

  test('when payments-depl sets its environment, then each name is one config.ts reads, once, and every required one is set', () => {
    const names = env.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(configNames.map((n) => n.name)).toEqual(expect.arrayContaining(names));
    expect(names).toEqual(expect.arrayContaining(requiredNames));
  });

  test('when the deployment environment is given to the service, then its configuration is accepted', () => {
    // Stand-ins for what the cluster fills in at run time (a Stripe secret key is shaped like one).
    const secret = (key: string) => (key === 'STRIPE_KEY' ? 'sk_test_fromsecret' : key === 'STRIPE_WEBHOOK_SECRET' ? 'whsec_fromsecret' : 'from-secret');
    const clusterValue = (e: (typeof env)[number]): string | undefined =>
      e.valueFrom?.fieldRef ? 'payments-depl-7d9f-abcde' : e.valueFrom?.secretKeyRef ? secret(e.valueFrom.secretKeyRef.key) : e.value;
    const config = loadConfig(Object.fromEntries(env.map((e) => [e.name, clusterValue(e)])));
    expect(config.port).toBe(3000);
  });

  test('when secrets and the pod name reach the container, then they come from the cluster, not from literals', () => {
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    expect(byName.JWT_KEY?.valueFrom?.secretKeyRef).toEqual({ name: 'jwt-secret', key: 'JWT_KEY' });
    expect(byName.STRIPE_KEY?.valueFrom?.secretKeyRef).toEqual({ name: 'stripe-secret', key: 'STRIPE_KEY' });
    expect(byName.STRIPE_WEBHOOK_SECRET?.valueFrom?.secretKeyRef).toEqual({ name: 'stripe-secret', key: 'STRIPE_WEBHOOK_SECRET', optional: true });
    expect(byName.NATS_CLIENT_ID?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  test('when the kubelet probes payments, then liveness asks /healthz and readiness /readyz on the service port', () => {
    const port = Number(env.find((e) => e.name === 'PORT')?.value);
    expect(paymentsContainer.ports?.map((p) => p.containerPort)).toEqual([port]);
    expect(paymentsContainer.livenessProbe?.httpGet).toEqual(expect.objectContaining({ path: '/healthz', port }));
    expect(paymentsContainer.readinessProbe?.httpGet).toEqual(expect.objectContaining({ path: '/readyz', port }));
  });

  test('when payments runs, then it is non-root on a read-only root filesystem with a writable /tmp', () => {
    expect(paymentsPod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: 1000 }));
    const container = paymentsContainer.securityContext;
    expect(container).toEqual(expect.objectContaining({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false }));
    expect(container?.capabilities?.drop).toContain('ALL');
    expect(container?.runAsUser ?? 1000).not.toBe(0);
    expect(container?.runAsNonRoot ?? true).toBe(true);
    const tmp = paymentsContainer.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(paymentsPod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  test('when payments is stopped, then the grace period outlasts its own 15 s shutdown bound', () => {
    expect(paymentsPod.terminationGracePeriodSeconds).toBeGreaterThan(15);
  });

  test('when payments has resources, then requests and limits are both set', () => {
    expect(paymentsContainer.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
  });

  test('when payments runs its image, then the V8 heap bound of its start command fits the memory limit', () => {
    // No command or args here: the pod runs the image's CMD, with the node options of `npm start`.
    expect(paymentsContainer.command).toBeUndefined();
    expect(paymentsContainer.args).toBeUndefined();
    const option = (name: string) => Number(serviceNodeArgs(root).find((a) => a.startsWith(`--${name}=`))?.split('=')[1]);
    const oldSpaceMb = option('max-old-space-size');
    const semiSpaceMb = option('max-semi-space-size');
    expect(oldSpaceMb).toBeGreaterThan(0);
    expect(semiSpaceMb).toBeGreaterThan(0);
    // The heap at its bound (old space, then the young generation: 3 × a semi-space) plus what
    // node itself takes outside the heap (about 40 MB idle, measured) stays under the limit,
    // so the heap is collected hard before the kernel's OOM killer would end the pod.
    const limitMi = Number(/^(\d+)Mi$/.exec(String(paymentsContainer.resources?.limits?.memory))?.[1]);
    expect(oldSpaceMb + 3 * semiSpaceMb + 64).toBeLessThanOrEqual(limitMi);
  });

  test('when the services route traffic, then each selects its deployment pods on the port the env names', () => {
    const paymentsSrv = find<Service>('Service', 'payments-srv');
    expect(paymentsSrv.spec?.selector).toEqual(payments.spec?.template.metadata?.labels);
    expect(paymentsSrv.spec?.ports).toEqual([expect.objectContaining({ port: 3000, targetPort: 3000 })]);

    const mongo = find<Deployment>('Deployment', 'payments-mongo-depl');
    const mongoSrv = find<Service>('Service', 'payments-mongo-srv');
    expect(mongoSrv.spec?.selector).toEqual(mongo.spec?.template.metadata?.labels);
    const mongoUri = new URL(env.find((e) => e.name === 'MONGO_URI')?.value ?? '');
    expect(mongoUri.hostname).toBe(mongoSrv.metadata?.name);
    expect(mongoSrv.spec?.ports?.map((p) => p.port)).toContain(Number(mongoUri.port));
  });

  test('when mongo stores data, then /data/db is the claim of infra/k8s-volumes and the rollout never runs two pods', () => {
    const mongo = find<Deployment>('Deployment', 'payments-mongo-depl');
    expect(mongo.spec?.strategy?.type).toBe('Recreate');
    const pod = mongo.spec!.template.spec!;
    const mount = pod.containers[0].volumeMounts?.find((m) => m.mountPath === '/data/db');
    const claim = pod.volumes?.find((v) => v.name === mount?.name)?.persistentVolumeClaim?.claimName;
    const pvc = find<PersistentVolumeClaim>('PersistentVolumeClaim', claim ?? '(no claim mounted at /data/db)', volumeObjects);
    expect(pvc.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(pvc.spec?.resources?.requests?.storage).toBe('1Gi');
    expect(pod.containers[0].resources?.requests).toBeDefined();
    expect(pod.containers[0].resources?.limits).toBeDefined();
  });

  test('when skaffold deploys, then it builds the deployment image locally and applies every manifest', () => {
    expect(skaffold).toEqual(expect.objectContaining({ apiVersion: 'skaffold/v4beta11', kind: 'Config' }));
    expect(skaffold.build.local?.push).toBe(false);
    expect(skaffold.build.artifacts.map((a) => a.image)).toEqual([paymentsContainer.image]);
    expect([...skaffold.manifests.rawYaml].sort()).toEqual(manifestFiles.map((f) => `infra/k8s/${f}`));
    expect(skaffold.deploy.kubectl).toBeDefined();
  });

  test('when skaffold dev exits, then the database claim survives: a before-deploy hook applies it, from this folder, and skaffold never lists it to delete', () => {
    expect(skaffold.manifests.rawYaml.filter((f) => f.startsWith('infra/k8s-volumes/'))).toEqual([]);
    const hooks = skaffold.deploy.kubectl?.hooks?.before ?? [];
    expect(hooks).toHaveLength(1);
    const [{ host }] = hooks;
    expect(host?.dir).toBe('.');
    expect(host?.os).toEqual(expect.arrayContaining(['linux', 'darwin']));
    const script = host?.command.join(' ') ?? '';
    expect(host?.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(script).toContain('--context "$SKAFFOLD_KUBE_CONTEXT"');
    const applied = [...script.matchAll(/ apply -f (\S+)/g)].map((m) => m[1]);
    expect(applied).toEqual(volumeFiles.map((f) => `infra/k8s-volumes/${f}`));
    // Run as skaffold runs it (in this folder, its context in the environment, or none), with a kubectl that prints its arguments.
    const bin = mkdtempSync(path.join(tmpdir(), 'payments-kubectl-'));
    try {
      writeFileSync(path.join(bin, 'kubectl'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const run = (context?: string) =>
        execFileSync(host!.command[0], host!.command.slice(1), {
          cwd: path.join(root, host!.dir!),
          encoding: 'utf8',
          env: { PATH: `${bin}:${process.env.PATH}`, ...(context ? { SKAFFOLD_KUBE_CONTEXT: context } : {}) },
        }).trim();
      expect(run('kind-ticketing')).toBe(`--context kind-ticketing apply -f ${applied[0]}`);
      expect(run()).toBe(`apply -f ${applied[0]}`);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  test('when the alert rules and the dashboard are made ConfigMaps as docs/cluster.md says, then each fits in one (1 MiB) and the dashboard carries the label Grafana\'s sidecar looks for', () => {
    for (const map of monitoringConfigMaps) {
      expect(Buffer.byteLength(JSON.stringify(map.data))).toBeLessThan(1024 * 1024);
    }
    const docs = readFileSync(path.join(root, 'docs', 'cluster.md'), 'utf8');
    expect(docs).toContain('kubectl create configmap payments-alerts --from-file=alerts.yaml=infra/monitoring/alerts.yaml');
    expect(docs).toContain('kubectl create configmap payments-dashboard --from-file=payments-dashboard.json=infra/monitoring/dashboard.json');
    expect(docs).toContain('kubectl label configmap payments-dashboard grafana_dashboard=1');
  });

  test('when a source file changes under skaffold dev, then the dev profile (on by itself for `skaffold dev`) builds the dev stage and syncs it', () => {
    const dev = profile('dev');
    expect(dev?.activation).toContainEqual({ command: 'dev' });
    const [artifact] = dev!.build!.artifacts;
    expect(artifact.image).toBe(paymentsContainer.image);
    expect(artifact.context ?? '.').toBe('.');
    expect(artifact.docker?.target).toBe('dev');
    expect(artifact.sync?.manual).toContainEqual({ src: 'src/**/*.ts', dest: '.' });
  });

  test('when skaffold runs without the dev profile or with -p production, then it builds the production stage with nothing synced', () => {
    expect(dockerStages[dockerStages.length - 1]).toBe('runtime');
    for (const build of [skaffold.build, profile('production')?.build]) {
      expect(build?.artifacts.map((a) => ({ image: a.image, target: a.docker?.target, sync: a.sync }))).toEqual([
        { image: paymentsContainer.image, target: 'runtime', sync: undefined },
      ]);
      expect(build?.local?.push).toBe(false);
    }
    for (const p of skaffold.profiles ?? []) expect(dockerStages).toContain(p.build?.artifacts[0].docker?.target);
  });

  test('when a rolling update stops a pod, then it keeps serving through a preStop pause, and the grace period outlasts the pause plus the 15 s shutdown bound', () => {
    const command = paymentsContainer.lifecycle?.preStop?.exec?.command ?? [];
    expect(command[0]).toBe('sleep');
    const pause = Number(command[1]);
    expect(pause).toBeGreaterThanOrEqual(3);
    expect(paymentsPod.terminationGracePeriodSeconds).toBeGreaterThan(pause + 15);
  });

  test('when payments starts slowly, then a startup probe on /healthz holds liveness off for at least 30 s', () => {
    const probe = paymentsContainer.startupProbe;
    expect(probe?.httpGet).toEqual(expect.objectContaining({ path: '/healthz', port: 3000 }));
    expect((probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3)).toBeGreaterThanOrEqual(30);
  });

  test('when mongo runs, then it has startup, readiness and liveness probes and runs as its own non-root user with nothing to escalate', () => {
    const mongo = find<Deployment>('Deployment', 'payments-mongo-depl');
    const pod = mongo.spec!.template.spec!;
    const [container] = pod.containers;
    expect(container.startupProbe).toBeDefined();
    expect(container.readinessProbe).toBeDefined();
    expect(container.livenessProbe).toBeDefined();
    expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, runAsUser: 999, fsGroup: 999 }));
    expect(container.securityContext).toEqual(expect.objectContaining({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true }));
    expect(container.securityContext?.capabilities?.drop).toContain('ALL');
    for (const dir of ['/data/db', '/tmp', '/data/configdb']) expect(container.volumeMounts?.map((m) => m.mountPath)).toContain(dir);
  });

  test('when images are pulled, then each is pinned to a version (the payments image is tagged by skaffold)', () => {
    const images = objects
      .flatMap(({ obj }) => ((obj as Deployment).spec?.template?.spec?.containers ?? []).map((c) => c.image ?? ''))
      .filter((image) => image !== paymentsContainer.image);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(/:(\d+\.\d+\.\d+)$/);
    expect(skaffold.build.artifacts.map((a) => a.image)).toContain(paymentsContainer.image);
  });
});
