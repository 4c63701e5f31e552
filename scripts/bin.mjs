#!/usr/bin/env node
// The comfy-verify command (`npx comfy-verify <command>`, or after `npm link`): the TypeScript CLI
// run under tsx's loader, from wherever it is called.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
