#!/usr/bin/env node
// The idplane node agent: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/shim/agent/main.ts');
await main(process.argv.slice(2));
