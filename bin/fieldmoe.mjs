#!/usr/bin/env node
// The CLI runs the engine's TypeScript sources directly through tsx, so `npx fieldmoe`
// works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/engine/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
