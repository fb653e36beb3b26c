import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [process.env.ATTN_UI_ONLY ?? 'test/ui/**/*.ui.test.ts'],
    globalSetup: ['test/ui/globalSetup.ts'],
    // One code-server, one browser: files run one after another.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
