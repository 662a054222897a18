// Bundles each command-line program into dist/<name>.js with esbuild, so the installed bins start
// without a TypeScript loader. Run by `npm ci` / `npm install` (the "prepare" script) and before
// the tests that spawn the bins. A new program is one row of BINS (and its "bin" entry in
// package.json); its module exports `main(argv): Promise<number>` (the exit code).
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const BINS = {
  idplane: 'src/shim/cli/main.ts',
  'idplane-agent': 'src/shim/agent/main.ts',
};

const root = resolve(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));

await Promise.all(
  Object.entries(BINS).map(async ([name, module]) => {
    const outfile = resolve(root, 'dist', `${name}.js`);
    await build({
      stdin: {
        contents: `import { main } from ${JSON.stringify(resolve(root, module))};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
        resolveDir: root,
        loader: 'ts',
      },
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Dependencies load from node_modules as installed (koffi is a native addon).
      packages: 'external',
      define: { IDPLANE_VERSION: JSON.stringify(version) },
      banner: { js: '#!/usr/bin/env node' },
      logLevel: 'warning',
    });
    chmodSync(outfile, 0o755);
  }),
);
