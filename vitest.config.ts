import { defineConfig } from 'vitest/config';

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks',
} as const;

/**
 * Two projects: `standalone` runs every test against one redis-server; `cluster` runs the store
 * integration tests and the end-to-end queue flows again, unchanged, against a local three-master Redis
 * Cluster (test/setup/global-cluster.ts). `npx vitest run` runs both; `--project cluster` picks one.
 */
export default defineConfig({
  test: {
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        test: {
          ...shared,
          name: 'standalone',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/cluster.test.ts'],
          globalSetup: ['test/setup/global-redis.ts'],
        },
      },
      {
        test: {
          ...shared,
          name: 'cluster',
          include: ['test/integration/*.test.ts', 'test/e2e/queue.test.ts', 'test/e2e/instances.test.ts', 'test/e2e/cluster.test.ts', 'test/e2e/instance-failure.test.ts', 'test/e2e/orphans.test.ts'],
          globalSetup: ['test/setup/global-cluster.ts'],
        },
      },
    ],
  },
});
