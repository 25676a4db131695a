/*
 * What plugins add to the config's type, by declaration merging (as Fastify's decorators do): a
 * plugin package declares its section and options on these interfaces, so once it is imported a
 * config that uses them type-checks and autocompletes, and a misspelled key is a compile error that
 * names it (`servics`). Core's own keys come from its schema; these start empty.
 *
 * @example
 * declare module '@lucid/gateway-core' {
 *   interface GatewayConfigExtensions { quota?: { perDay: number } }
 *   interface RouteOptionsExtensions { quota?: number }
 * }
 */

/** Top-level config sections plugins bring. Every key optional. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by plugins through declaration merging
export interface GatewayConfigExtensions {}

/** Per-route options plugins bring. Every key optional. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by plugins through declaration merging
export interface RouteOptionsExtensions {}

/** Per-service options plugins bring. Every key optional. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by plugins through declaration merging
export interface ServiceOptionsExtensions {}
