export interface DemoStep {
  /** What the step shows, printed as a comment. */
  title: string;
  /** The answer it promises, printed under the title. */
  answer: string;
  /** The shell line to paste. */
  command: string;
  /** What the line's output must match. */
  shell: RegExp[];
  /** The same request made with fetch, checked; `state` carries tokens between steps. */
  check(state: Record<string, string>): Promise<void>;
}

export function demoSteps(base: string): DemoStep[];
