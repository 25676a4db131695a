import type * as Undici from 'undici';
import requestApi from 'undici/lib/api/api-request.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import PoolClass from 'undici/lib/dispatcher/pool.js';

/*
 * The parts of undici the gateway uses, each loaded from its own file. undici's index loads all of
 * undici (fetch, WebSocket, caches, mocks), and its cookie helpers read `globalThis.Headers`, which
 * loads Node's own bundled copy of undici as well: about 11 MB resident for code a gateway never runs.
 */

export const Pool = PoolClass as typeof Undici.Pool;
export type Pool = Undici.Pool;
export const Agent = AgentClass as typeof Undici.Agent;
export type Agent = Undici.Agent;
export type { Dispatcher } from 'undici';

type ResponseData = Undici.Dispatcher.ResponseData;
const requestOn = requestApi as (
  this: Undici.Dispatcher,
  o: Undici.Dispatcher.RequestOptions,
) => Promise<ResponseData>;

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  method?: Undici.Dispatcher.HttpMethod;
  dispatcher?: Undici.Dispatcher;
};

let shared: Undici.Dispatcher | undefined;
const sharedAgent = () => {
  shared ??= new Agent();
  return shared;
};

/**
 * undici's `request(url, options)`: on `options.dispatcher`, else on one agent shared by the calls made
 * here (made at the first), as undici's own falls back to its global dispatcher.
 */
export function request(url: URL, options: RequestOptions): Promise<ResponseData> {
  const { dispatcher, ...rest } = options;
  const on = dispatcher ?? sharedAgent();
  return requestOn.call(on, {
    ...rest,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: rest.method ?? 'GET',
  });
}
