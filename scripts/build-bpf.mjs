// Compiles the reference datapath (src/datapath/bpf/*.c) with clang into build/bpf/<name>.o
// (git-ignored: the source is committed, never the object). Needs Debian's clang, llvm and
// libbpf-dev (.ci/run installs them); asm/types.h lives under the multiarch include directory.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = resolve(root, 'src/datapath/bpf');
const out = resolve(root, 'build/bpf');
const multiarch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;

mkdirSync(out, { recursive: true });
for (const file of readdirSync(src).filter((f) => f.endsWith('.c'))) {
  const object = resolve(out, file.replace(/\.c$/, '.o'));
  execFileSync('clang', ['-O2', '-g', '-Wall', '-Werror', '-target', 'bpf', `-I/usr/include/${multiarch}`, '-c', resolve(src, file), '-o', object], { stdio: 'inherit' });
  process.stdout.write(`${object}\n`);
}
