import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One moto server for the run (docs/architecture.md#local-aws); files run one at a time and each starts
          // from a reset moto, so no file sees another's resources.
          globalSetup: ['test/support/global-setup-moto.ts'],
          setupFiles: ['test/support/reset-moto.ts', 'test/support/record-aws-calls.ts'],
          fileParallelism: false,
          // After the unit tests, before the IAM check (an explicit order, or vitest would run a
          // project without file parallelism last).
          sequence: { groupOrder: 1 },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'iam',
          include: ['test/iam/**/*.test.ts'],
          // After the integration tests: it checks the AWS calls they recorded against the roles.
          sequence: { groupOrder: 2 },
          testTimeout: 60_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
