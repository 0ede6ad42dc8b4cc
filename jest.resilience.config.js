/** The resilience suite: the service as separate processes, several at once, while things break. */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/resilience'],
  testTimeout: 240_000,
  maxWorkers: 1,
};
