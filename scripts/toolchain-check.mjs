#!/usr/bin/env node
// Runs before `pnpm install` (preinstall) and before `pnpm start` / `pnpm lucid-gateway`: a Node
// too old or a pnpm other than the pinned one gets one sentence saying what to do, not a stack.
// Plain syntax only, so that an old Node can still read this far.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);

/** The Node major and the exact pnpm this repository wants, from its package.json. */
export function wanted() {
  const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8'));
  return {
    nodeMajor: Number(/(\d+)/.exec(pkg.engines.node)[1]),
    pnpm: pkg.packageManager.replace(/^pnpm@/, '').split('+')[0],
  };
}

/**
 * What is wrong with this toolchain, in one sentence, or undefined when nothing is.
 * `userAgent` is what a package manager puts in npm_config_user_agent ("pnpm/10.34.8 npm/? node/v24...").
 */
export function toolchainProblem({ nodeVersion, userAgent }, want = wanted()) {
  const major = Number(String(nodeVersion).replace(/^v/, '').split('.')[0]);
  if (!(major >= want.nodeMajor)) {
    return `Lucid Gateway needs Node.js ${want.nodeMajor} or newer, and this is Node.js ${nodeVersion}: install a current Node.js (https://nodejs.org) and run the command again.`;
  }
  const agent = /^(\S+?)\/(\S+)/.exec(userAgent || '');
  if (!agent) return undefined; // run by node itself, not through a package manager
  const [, manager, version] = agent;
  if (manager === 'pnpm' && version === want.pnpm) return undefined;
  const found = manager === 'pnpm' ? `pnpm ${version}` : manager;
  return `This repository is installed with pnpm ${want.pnpm} exactly, and this is ${found}: run "npm i -g pnpm@${want.pnpm}" (or "corepack enable"), then the command again.`;
}

/** Ends the process with the one sentence when this toolchain is not the one this repository wants. */
export function exitOnToolchainProblem() {
  const problem = toolchainProblem({
    nodeVersion: process.version,
    userAgent: process.env.npm_config_user_agent,
  });
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) exitOnToolchainProblem();
