import { RE2JS } from 're2js';

/**
 * The regular-expression engine ajv uses for a document's `pattern` and `patternProperties`. A
 * pattern that cannot backtrack for long (see `boundedBacktracking`) runs on V8's own engine; any
 * other runs on RE2's linear-time matcher, so no pattern a service publishes can make a request's
 * check take more than linear time. A pattern RE2 cannot run (look-around, back-references) throws
 * when the schema is compiled, so its operation is refused at load rather than checked slowly.
 */
export function linearRegExp(pattern: string, flags: string): { test(s: string): boolean } {
  return boundedBacktracking(pattern) ? new RegExp(pattern, flags) : new LinearRegExp(pattern, flags);
}
// ajv asks for the engine's source only when it writes standalone code, which this package never does.
linearRegExp.code = 'linearRegExp';

class LinearRegExp {
  readonly #re: RE2JS;

  constructor(
    readonly source: string,
    readonly flags: string,
  ) {
    this.#re = RE2JS.compile(RE2JS.translateRegExp(source));
  }

  test(s: string): boolean {
    return this.#re.test(s);
  }

  // ajv keys its compiled patterns by this string: it must differ per pattern.
  toString(): string {
    return `/${this.source}/${this.flags}`;
  }
}

/**
 * Whether a backtracking engine runs `pattern` in linear time whatever the input: no group is
 * quantified, nothing looks around or refers back, and it has no unbounded quantifier (`*`, `+`,
 * `{n,}`), or one alone in a pattern anchored at its start with no alternation (so only one start
 * position is tried). `^[A-Z]{3}-[0-9]{4}$` and `^\d+$` qualify; `(a+)+`, `\d+\d+` and `a+b` do not.
 */
export function boundedBacktracking(pattern: string): boolean {
  let unbounded = 0;
  let alternation = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next !== undefined && next >= '1' && next <= '9') return false; // back-reference
      if (next === 'k') return false; // named back-reference
      i++;
      continue;
    }
    if (c === '[') {
      // A class is one atom: skip to its end.
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] === '?' && pattern[i + 2] !== ':') return false; // look-around, named group
      continue;
    }
    if (c === ')') {
      const q = pattern[i + 1];
      if (q === '*' || q === '+' || q === '?' || q === '{') return false; // a quantified group
      continue;
    }
    if (c === '|') alternation = true;
    else if (c === '*' || c === '+') unbounded++;
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (m && m[2] !== undefined && m[3] === '') unbounded++;
    }
  }
  return unbounded === 0 || (unbounded === 1 && pattern.startsWith('^') && !alternation);
}
