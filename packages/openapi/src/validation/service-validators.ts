import { isObject } from './document.js';
import { OpenApiValidator } from './validator.js';

/** A service's validator, or why there is none. */
export type ServiceValidator =
  | { validator: OpenApiValidator; reason?: undefined }
  | { validator?: undefined; reason: string };

interface Entry {
  doc: unknown;
  state: ServiceValidator;
}

/**
 * The services' documents compiled for validation, kept in step with the catalog that fetches
 * them: a document is compiled when it first arrives and again only when a refresh brings a
 * different one, so no request ever compiles anything.
 *
 * @example
 * validators.update('payments', document);            // after each fetch
 * validators.get('payments').validator?.find('POST', '/payments');
 */
export class ServiceValidators {
  readonly #entries = new Map<string, Entry>();
  readonly #onCompiled: ((service: string, state: ServiceValidator) => void) | undefined;

  constructor(onCompiled?: (service: string, state: ServiceValidator) => void) {
    this.#onCompiled = onCompiled;
  }

  /**
   * Takes a service's current document (undefined: none, with why). A document that is the same
   * object, or the same JSON, as the one compiled is not compiled again.
   */
  update(service: string, doc: unknown, missing = 'its OpenAPI document is not fetched yet'): void {
    const known = this.#entries.get(service);
    if (doc === undefined) {
      // A failed refresh keeps the last good document, as the catalog does.
      if (known?.state.validator) return;
      this.#set(service, { doc: undefined, state: { reason: missing } });
      return;
    }
    if (known !== undefined && (known.doc === doc || sameJson(known.doc, doc))) return;
    let state: ServiceValidator;
    try {
      state = { validator: OpenApiValidator.compile(doc, { responses: true }) };
    } catch (err) {
      state = { reason: `its OpenAPI document cannot be used for validation: ${(err as Error).message}` };
    }
    this.#set(service, { doc, state });
  }

  /** Forgets services no longer configured. */
  keep(services: Iterable<string>): void {
    const wanted = new Set(services);
    for (const name of this.#entries.keys()) if (!wanted.has(name)) this.#entries.delete(name);
  }

  get(service: string): ServiceValidator {
    return this.#entries.get(service)?.state ?? NOT_YET;
  }

  #set(service: string, entry: Entry): void {
    this.#entries.set(service, entry);
    this.#onCompiled?.(service, entry.state);
  }
}

const NOT_YET: ServiceValidator = { reason: 'its OpenAPI document is not fetched yet' };

function sameJson(a: unknown, b: unknown): boolean {
  if (!isObject(a) || !isObject(b)) return false;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}
