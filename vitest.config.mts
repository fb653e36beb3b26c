import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/goldens/**/*.test.ts'],
    globalSetup: ['test/unit/globalSetup.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
