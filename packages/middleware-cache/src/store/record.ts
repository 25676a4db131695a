import CachePolicy from 'http-cache-semantics';

/** A stored answer: its policy (request, response headers, times) and its body. */
export interface StoredAnswer {
  kind: 'answer';
  policy: CachePolicy;
  status: number;
  body: Buffer;
  /** The upstream's own Cache-Control (undefined: none), served instead of the one the policy was given. */
  cacheControl: string | undefined;
}

/** Under a key whose answers vary: the request headers that pick the variant. */
export interface VaryIndex {
  kind: 'vary';
  names: string[];
}

export type CacheRecord = StoredAnswer | VaryIndex;

const MAGIC = 0x4c43_0001; // "LC", format 1

/**
 * One record as bytes: magic, JSON length, JSON, body. Decoding checks every length, so a record cut
 * short, overwritten or from another format is refused (and then dropped) rather than served.
 */
export function encodeRecord(record: CacheRecord): Buffer {
  const meta =
    record.kind === 'vary'
      ? { v: record.names }
      : { p: record.policy.toObject(), c: record.cacheControl ?? null, n: record.body.length };
  const json = Buffer.from(JSON.stringify(meta));
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(json.length, 4);
  return record.kind === 'vary' ? Buffer.concat([head, json]) : Buffer.concat([head, json, record.body]);
}

export class CorruptRecordError extends Error {
  readonly code = 'ERR_LUCID_CACHE_CORRUPT';
  constructor(why: string) {
    super(`corrupt cache record: ${why}`);
    this.name = 'CorruptRecordError';
  }
}

export function decodeRecord(bytes: Buffer): CacheRecord {
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== MAGIC) throw new CorruptRecordError('unknown format');
  const jsonLength = bytes.readUInt32BE(4);
  if (8 + jsonLength > bytes.length) throw new CorruptRecordError('cut short');
  let meta: { v?: unknown; p?: unknown; c?: unknown; n?: unknown };
  try {
    meta = JSON.parse(bytes.subarray(8, 8 + jsonLength).toString());
  } catch {
    throw new CorruptRecordError('unreadable metadata');
  }
  if (Array.isArray(meta.v) && meta.v.every((n) => typeof n === 'string')) {
    return { kind: 'vary', names: meta.v as string[] };
  }
  const body = bytes.subarray(8 + jsonLength);
  if (typeof meta.n !== 'number' || meta.n !== body.length)
    throw new CorruptRecordError('body length differs');
  if (meta.p === null || typeof meta.p !== 'object') throw new CorruptRecordError('no policy');
  let policy: CachePolicy;
  try {
    policy = CachePolicy.fromObject(meta.p as CachePolicy.CachePolicyObject);
  } catch {
    throw new CorruptRecordError('unreadable policy');
  }
  return {
    kind: 'answer',
    policy,
    status: (meta.p as { st: number }).st,
    body,
    cacheControl: typeof meta.c === 'string' ? meta.c : undefined,
  };
}

/** Roughly what a record holds in memory: its body and its headers. */
export function recordBytes(record: CacheRecord): number {
  if (record.kind === 'vary') return 64 + record.names.join().length;
  let headers = 0;
  const h = record.policy.toObject().resh as Record<string, string>;
  for (const k in h) headers += k.length + String(h[k]).length;
  return record.body.length + headers + 256;
}
