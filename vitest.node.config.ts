import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['test/node/**/*.test.ts', 'test/e2e/**/*.test.ts'], testTimeout: 60000 },
});
