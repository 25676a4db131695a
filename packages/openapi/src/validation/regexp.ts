import { RE2JS } from 're2js';

/**
 * The regular-expression engine ajv uses for a document's `pattern` and `patternProperties`: RE2's
 * linear-time matcher, so no pattern a service publishes can make a request's check backtrack for
 * long. A pattern RE2 cannot run (look-around, back-references) throws when the schema is compiled,
 * so the operation is refused at load rather than checked by a slower engine.
 */
export function linearRegExp(pattern: string, flags: string): LinearRegExp {
  return new LinearRegExp(pattern, flags);
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
