/** The resilience suite: the service as separate processes, several at once, while things break; on both brokers. */
process.env.JEST_TESTS_DIR = 'resilience';
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testTimeout: 240_000,
  maxWorkers: 1,
};
