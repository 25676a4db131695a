import type { SeenRequest } from '@lucid/test-kit';
import { expect } from 'vitest';
import type { RawReply } from './raw.js';
import type { Stack } from './stack.js';

/** What the upstream received for one case: requests whose path starts with `marker`. */
export function seenFor(stack: Stack, marker: string): SeenRequest[] {
  return stack.upstream.seen.filter((r) => r.url.startsWith(marker));
}

/** Request lines on the wire between gateway and upstream whose target starts with `marker`. */
export function wireLinesFor(stack: Stack, marker: string): string[] {
  return stack.tap.requestLines().filter((line) => line.split(' ')[1]!.startsWith(marker));
}

/** The smuggled request never reached the upstream: not parsed there, and not on the wire as a request line. */
export function expectNotSmuggled(stack: Stack, smuggledPath: string, opts: { wire?: boolean } = {}): void {
  expect(stack.upstream.seen.map((r) => r.url)).not.toContain(smuggledPath);
  if (opts.wire !== false) expect(wireLinesFor(stack, smuggledPath)).toEqual([]);
}

/** The statuses of the answers, in order. */
export function statuses(reply: RawReply): number[] {
  return reply.responses.map((r) => r.status);
}
