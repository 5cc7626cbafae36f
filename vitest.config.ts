import { defineConfig } from 'vitest/config';

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks',
} as const;

/**
 * Two projects: `standalone` runs every test against one redis-server; `cluster` runs the integration
 * tests and the end-to-end flows that use the stores (IVR, queue, transfers, REST faults, several
 * instances, an instance killed, call records) again, unchanged, against a local three-master Redis Cluster
 * (test/setup/global-cluster.ts). `npx vitest run` runs both; `--project cluster` picks one.
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
          include: [
            'test/integration/*.test.ts',
            'test/e2e/{queue,instances,cluster,instance-failure,orphans,transfer,rest-faults,analytics,ivr,call-records}.test.ts',
          ],
          globalSetup: ['test/setup/global-cluster.ts'],
        },
      },
    ],
  },
});
