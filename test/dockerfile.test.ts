import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { serviceNodeArgs } from '../scripts/service-node-args';

// There is no Docker engine here, so the Dockerfile is read as text.
const root = path.join(__dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { op: op.toUpperCase(), args };
    if (instruction.op === 'FROM') {
      const name = /\sAS\s+(\S+)\s*$/i.exec(args)?.[1] ?? String(stages.length);
      stages.push({ name, instructions: [instruction] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const stages = parseDockerfile(read('Dockerfile'));
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage named ${name}`);
  return found;
};
const all = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);
const last = (s: Stage, op: string) => all(s, op).at(-1);
const execForm = (args: string | undefined): string[] => JSON.parse(args ?? 'null') as string[];

const runtime = stages.at(-1)!;
const pkg = JSON.parse(read('package.json')) as { main?: string; scripts: Record<string, string> };

describe('Dockerfile', () => {
  test('when the stages are listed, then build, dev and runtime exist and runtime is the default (last)', () => {
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['build', 'dev', 'runtime']));
    expect(runtime.name).toBe('runtime');
  });

  test('when the build stage runs, then it installs from the lockfile and compiles', () => {
    const runs = all(stage('build'), 'RUN');
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
  });

  test('when the runtime image is made, then it installs production dependencies only and takes dist from build', () => {
    expect(all(runtime, 'RUN').some((r) => /\bnpm ci\b.*--omit=dev\b/.test(r))).toBe(true);
    expect(all(runtime, 'COPY')).toContainEqual(expect.stringMatching(/^--from=build\s+\S*\/dist\/?\s+\.?\/?dist\/?$/));
    expect(all(runtime, 'ENV')).toContainEqual(expect.stringMatching(/^NODE_ENV[= ]production$/));
    expect(all(runtime, 'EXPOSE')).toEqual(['3000']);
  });

  test('when the runtime container starts, then it runs as a user other than root', () => {
    const user = last(runtime, 'USER');
    expect(user).toBeDefined();
    expect(user?.split(':')[0]).not.toMatch(/^(root|0)$/);
  });

  test('when the runtime container starts, then CMD, package.json and the build output agree on dist/index.js', () => {
    const cmd = execForm(last(runtime, 'CMD'));
    const [command, entry] = [cmd[0], cmd.at(-1)!];
    expect(`${command} ${entry}`).toBe('node dist/index.js');
    expect(pkg.main).toBe(entry);
    // One command line, node options included: the image's CMD is `npm start`'s, and the
    // benchmark and the dev stack read the options from the start script.
    expect(pkg.scripts.start).toBe(cmd.join(' '));
    expect(serviceNodeArgs(root)).toEqual(cmd.slice(1, -1));
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');

    const configFile = path.join(root, 'tsconfig.build.json');
    const { config } = ts.readConfigFile(configFile, ts.sys.readFile) as { config: unknown };
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configFile);
    expect(path.relative(root, options.outDir ?? '')).toBe(path.dirname(entry));
    const source = path.join(options.rootDir ?? root, `${path.basename(entry, '.js')}.ts`);
    expect(existsSync(source)).toBe(true);
  });

  test('when skaffold dev builds its profile\'s target, then that stage rebuilds synced sources in a writable WORKDIR', () => {
    type Build = { artifacts: Array<{ docker: { target?: string } }> };
    const skaffold = parseYaml(read('skaffold.yaml')) as { profiles: Array<{ name: string; build: Build }> };
    const profile = skaffold.profiles.find((p) => p.name === 'dev');
    const dev = stage(profile?.build.artifacts[0].docker.target ?? '(no target)');
    const [shell, flag, script] = execForm(last(dev, 'CMD'));
    expect([shell, flag]).toEqual(['sh', '-c']);
    expect(script).toMatch(/\bnode \/app\/scripts\/dev-watch\.js \/tmp\b/);
    expect(all(dev, 'COPY')).toContain('scripts/dev-watch.js /app/scripts/dev-watch.js');
    expect(script).toMatch(/\bnode --watch dist\/index\.js\b/);

    // The pod's root filesystem is read-only: sync and tsc can only write to a mounted volume.
    const deployment = parseYaml(read('infra/k8s/payments-depl.yaml').split(/^---$/m)[0]) as {
      spec: { template: { spec: { containers: Array<{ volumeMounts?: Array<{ mountPath: string }> }> } } };
    };
    const mounts = deployment.spec.template.spec.containers[0].volumeMounts?.map((m) => m.mountPath) ?? [];
    const workdir = last(dev, 'WORKDIR') ?? '/';
    expect(mounts.some((m) => workdir === m || workdir.startsWith(`${m}/`))).toBe(true);
  });
});

describe('.dockerignore', () => {
  const ignored = read('.dockerignore')
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/^\/+|\/+$/g, ''))
    .filter((line) => line !== '' && !line.startsWith('#'));

  test('when the build context is sent, then dependencies, outputs, tests and history stay out', () => {
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.git', 'test', '.servers', 'dist']));
  });

  test('when the build context is sent, then everything the build stage copies is still in it', () => {
    const copied = all(stage('build'), 'COPY')
      .filter((args) => !args.startsWith('--from'))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    expect(copied).toEqual(expect.arrayContaining(['package-lock.json', 'tsconfig.build.json', 'src']));
    for (const file of copied) {
      expect(ignored).not.toContain(file);
      expect(existsSync(path.join(root, file))).toBe(true);
    }
  });
});
