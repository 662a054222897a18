#!/usr/bin/env node
// The `idplane` CLI: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/shim/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
