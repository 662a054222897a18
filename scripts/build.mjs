// Bundles each command-line program into dist/<name>.js with esbuild, so the installed bins start
// without a TypeScript loader. Run by `npm ci` / `npm install` (the "prepare" script) and before
// the tests that spawn the bins. A new program is one row of BINS (and its "bin" entry in
// package.json); its module exports `main(argv): Promise<number>` (the exit code).
//
// The CNI plugin is built apart: one self-contained CommonJS file (its dependencies bundled in, no
// chunks), so that it can be copied alone into /opt/cni/bin under a name without an extension,
// which Node runs as CommonJS; it starts once per pod, so it carries only what it uses.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const BINS = {
  idplane: 'src/shim/cli/main.ts',
  'idplane-agent': 'src/shim/agent/main.ts',
};

/** The CNI plugin's module (exports `main(): Promise<number>`) and its one output file. */
const CNI_PLUGIN = { entry: 'src/shim/cni/main.ts', file: 'idplane-cni.cjs' };

const root = resolve(import.meta.dirname, '..');
const outdir = resolve(root, 'dist');
const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));

/** `bin:<name>` → a module that runs that program's main and sets the exit code. */
const binEntries = {
  name: 'bin-entries',
  setup(b) {
    b.onResolve({ filter: /^bin:/ }, (args) => ({ path: args.path.slice(4), namespace: 'bin' }));
    b.onLoad({ filter: /.*/, namespace: 'bin' }, (args) => ({
      contents: `import { main } from ${JSON.stringify(resolve(root, BINS[args.path]))};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
      resolveDir: root,
      loader: 'ts',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: Object.fromEntries(Object.keys(BINS).map((name) => [name, `bin:${name}`])),
  outdir,
  bundle: true,
  // Code behind a dynamic import (the bpf(2) layer and koffi, yaml) goes to chunks loaded on use.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Dependencies load from node_modules as installed (koffi is a native addon).
  packages: 'external',
  define: { IDPLANE_VERSION: JSON.stringify(version) },
  banner: { js: '#!/usr/bin/env node' },
  plugins: [binEntries],
  logLevel: 'warning',
});
for (const name of Object.keys(BINS)) chmodSync(resolve(outdir, `${name}.js`), 0o755);

await build({
  stdin: {
    contents: `import { main } from ${JSON.stringify(resolve(root, CNI_PLUGIN.entry))};\nmain().then((code) => { process.exitCode = code; });\n`,
    resolveDir: root,
    loader: 'ts',
  },
  outfile: resolve(outdir, CNI_PLUGIN.file),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { IDPLANE_VERSION: JSON.stringify(version) },
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
chmodSync(resolve(outdir, CNI_PLUGIN.file), 0o755);
