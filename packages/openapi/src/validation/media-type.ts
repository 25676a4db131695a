/** A Content-Type's essence: `Application/JSON; charset=utf-8` is `application/json`. */
export function essence(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === '' ? undefined : type;
}

/** Whether a media type is JSON: `application/json`, or any `+json` suffix (`application/problem+json`). */
export function isJson(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

/** The declared media types (as written), with their essences worked out once. */
export class MediaTypes {
  readonly #lower: string[];

  constructor(readonly declared: readonly string[]) {
    this.#lower = declared.map((d) => essence(d) ?? '');
  }

  /** The declared type a request's type falls under: the exact one first, then `type/*`, then `*\/*`. */
  pick(type: string): string | undefined {
    const lower = this.#lower;
    let i = lower.indexOf(type);
    if (i === -1) i = lower.indexOf(`${type.slice(0, type.indexOf('/'))}/*`);
    if (i === -1) i = lower.indexOf('*/*');
    return i === -1 ? undefined : this.declared[i];
  }
}
