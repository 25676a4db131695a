#!/usr/bin/env node
// `pnpm lucid-gateway <command>` and `pnpm start` in a clone: the CLI from packages/cli, built
// first only when its sources (or a package it runs on) changed, run in the folder the command
// was typed in (pnpm runs scripts from the repository root and passes that folder as INIT_CWD).
import { exitOnToolchainProblem } from './toolchain-check.mjs';

exitOnToolchainProblem();

const { buildIfStale } = await import('./build-state.mjs');
if (!buildIfStale()) process.exit(1);

const bin = new URL('../packages/cli/dist/bin.js', import.meta.url);
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
// The CLI reads its arguments from process.argv, and cluster workers re-run argv[1]. The root
// scripts pass a leading "--": without it Node itself would take the CLI's --env-file option.
const { fileURLToPath } = await import('node:url');
const args = process.argv.slice(2);
if (args[0] === '--') args.shift();
process.argv = [process.argv[0], fileURLToPath(bin), ...args];
await import(bin.href);
