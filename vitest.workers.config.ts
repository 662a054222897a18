import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' }, miniflare: { bindings: { IDPLANE_ADMIN_TOKEN: 'test-admin-token' } } })],
  test: { include: ['test/workers/**/*.test.ts'], testTimeout: 30000 },
});
