import { z } from 'zod';

/** What a route's `validate` says, with its defaults filled in. */
export interface ValidateSettings {
  /** Check requests against the operation they land on (and refuse those that do not match). */
  requests: boolean;
  /** `report`: check the upstream's JSON answers too, and count what does not match, answers unchanged. */
  responses: 'report' | 'off';
  /** When the service has no document (none configured, not fetched yet, or it failed): pass, or refuse (503). */
  onMissing: 'open' | 'closed';
}

const settings = z.strictObject({
  requests: z.boolean().default(true).describe('Check requests against the operation they land on.'),
  responses: z
    .enum(['report', 'off'])
    .default('off')
    .describe(
      "`report`: check the upstream's JSON answers and count mismatches (the answers are not changed).",
    ),
  onMissing: z
    .enum(['open', 'closed'])
    .default('open')
    .describe(
      "Without the service's document: `open` lets requests through unchecked, `closed` refuses them (503).",
    ),
});

/**
 * A route's `validate`: `true` (requests checked, answers not), or the settings. Checked against the
 * service's own OpenAPI document (`services.<name>.openapi`).
 */
export const validateOption = z
  .union([z.boolean(), settings])
  .optional()
  .describe(
    "Check requests against the service's OpenAPI document at the edge: `true`, or `{ requests, responses, onMissing }`.",
  );

/** The settings a route's `validate` stands for; undefined when it asks for nothing. */
export function validateSettings(option: unknown): ValidateSettings | undefined {
  if (option === undefined || option === false) return undefined;
  const parsed = settings.parse(option === true ? {} : option);
  return parsed.requests || parsed.responses === 'report' ? parsed : undefined;
}
