import { ValidationDocumentError } from './document.js';

/** One segment of a path template: literal text, or text around one `{param}`. */
type Segment = { literal: string } | { prefix: string; name: string; suffix: string };

/** A path template of the document, compiled: `/pets/{id}` against `/pets/42` gives `{ id: '42' }`. */
export class PathTemplate {
  readonly segments: readonly Segment[];
  /** Literal segments before the first templated one rank first, as OpenAPI asks of concrete paths. */
  readonly rank: number[];

  constructor(readonly template: string) {
    if (!template.startsWith('/'))
      throw new ValidationDocumentError(`paths: "${template}" should start with "/"`);
    this.segments = template
      .slice(1)
      .split('/')
      .map((s) => {
        const open = s.indexOf('{');
        if (open === -1) return { literal: s };
        const close = s.indexOf('}', open);
        if (close === -1 || s.indexOf('{', open + 1) !== -1) {
          throw new ValidationDocumentError(`paths: "${template}": a segment holds one "{name}" at most`);
        }
        return { prefix: s.slice(0, open), name: s.slice(open + 1, close), suffix: s.slice(close + 1) };
      });
    this.rank = this.segments.map((s) => ('literal' in s ? 0 : 1));
  }

  /** The raw (still percent-encoded) values of the template's parameters, or undefined. */
  match(segments: readonly string[]): Record<string, string> | undefined {
    if (segments.length !== this.segments.length) return undefined;
    let params: Record<string, string> | undefined;
    for (let i = 0; i < segments.length; i++) {
      const want = this.segments[i]!;
      const got = segments[i]!;
      if ('literal' in want) {
        if (got !== want.literal) return undefined;
        continue;
      }
      const { prefix, suffix } = want;
      if (got.length <= prefix.length + suffix.length || !got.startsWith(prefix) || !got.endsWith(suffix)) {
        return undefined;
      }
      params ??= Object.create(null) as Record<string, string>;
      params[want.name] = got.slice(prefix.length, got.length - suffix.length);
    }
    return params ?? EMPTY;
  }
}

const EMPTY: Record<string, string> = Object.freeze(Object.create(null));

/** Orders templates so that `/pets/mine` is tried before `/pets/{id}`. */
export function byConcreteness(a: PathTemplate, b: PathTemplate): number {
  for (let i = 0; i < Math.min(a.rank.length, b.rank.length); i++) {
    if (a.rank[i] !== b.rank[i]) return a.rank[i]! - b.rank[i]!;
  }
  return 0;
}
