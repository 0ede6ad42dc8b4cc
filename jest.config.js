const fs = require('node:fs');
const path = require('node:path');

/**
 * Every test file runs on NATS Streaming (project `stan`); the files that involve
 * the broker run on NATS JetStream too (project `jetstream`): one matrix, no
 * copies. A file involves the broker when it uses the harness's broker, fixture
 * or service processes. Files named `*.jetstream.test.ts` test JetStream's own
 * terms and run in `jetstream` only. `--selectProjects jetstream` runs one side.
 */
const BROKER = /\b(natsServer|OrdersPublisher|PaymentCreatedSpy|PaymentsFixture|ServiceProcess|Cluster)\b/;

const ONLY_JETSTREAM = '.jetstream.test.ts';

function brokerTests(dir) {
  const root = path.join(__dirname, dir);
  return fs
    .readdirSync(root)
    .filter((file) => file.endsWith('.test.ts') && BROKER.test(fs.readFileSync(path.join(root, file), 'utf8')))
    .concat(fs.readdirSync(root).filter((file) => file.endsWith(ONLY_JETSTREAM)))
    .filter((file, index, files) => files.indexOf(file) === index)
    .map((file) => path.join(root, file));
}

/** One project per broker; `jetstream` only over `brokerOnly` files when given. */
function matrix(dir, { brokerOnly = true } = {}) {
  const project = {
    testEnvironment: 'node',
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
    roots: [`<rootDir>/${dir}`],
  };
  return [
    {
      ...project,
      displayName: 'stan',
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', `${ONLY_JETSTREAM.replace(/\./g, '\\.')}$`],
      setupFiles: ['<rootDir>/test/support/bus/stan.ts'],
    },
    {
      ...project,
      displayName: 'jetstream',
      testMatch: brokerOnly ? brokerTests(dir) : ['**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/bus/jetstream.ts'],
    },
  ];
}

/** @type {import('jest').Config} */
module.exports = {
  projects: matrix(process.env.JEST_TESTS_DIR ?? 'test'),
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
