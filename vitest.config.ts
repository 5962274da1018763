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
          setupFiles: ['test/support/reset-moto.ts'],
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
