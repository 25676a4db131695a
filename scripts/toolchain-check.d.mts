export function wanted(): { nodeMajor: number; pnpm: string };
/** One sentence saying what is wrong with the toolchain, or undefined. */
export function toolchainProblem(
  found: { nodeVersion: string; userAgent: string | undefined },
  want?: { nodeMajor: number; pnpm: string },
): string | undefined;
/** Ends the process with that sentence (exit 1) when there is a problem. */
export function exitOnToolchainProblem(): void;
