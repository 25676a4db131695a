/**
 * Which gRPC protocol a request speaks, from its content type: `grpc` (application/grpc,
 * application/grpc+proto, ...), `grpc-web` (application/grpc-web, +proto, +json) or `grpc-web-text`
 * (base64 bodies). Decided once per request, when its context is made.
 */
export type GrpcKind = 'grpc' | 'grpc-web' | 'grpc-web-text';

const GRPC = 'application/grpc';

/** The protocol of a content type, or undefined when it is none of gRPC's. */
export function grpcKindOf(contentType: string | undefined): GrpcKind | undefined {
  if (contentType === undefined || contentType.length < GRPC.length) return undefined;
  // The common answer (not gRPC) after one comparison of the first characters.
  let ct = contentType;
  if (!ct.startsWith(GRPC)) {
    ct = ct.toLowerCase();
    if (!ct.startsWith(GRPC)) return undefined;
  }
  const rest = ct.slice(GRPC.length);
  if (rest === '' || rest[0] === '+' || rest[0] === ';') return 'grpc';
  if (rest.startsWith('-web-text')) return endsToken(rest, 9) ? 'grpc-web-text' : undefined;
  if (rest.startsWith('-web')) return endsToken(rest, 4) ? 'grpc-web' : undefined;
  return undefined;
}

/** The media type ends at `at`, or goes on with a `+format` suffix or parameters. */
function endsToken(rest: string, at: number): boolean {
  return rest.length === at || rest[at] === '+' || rest[at] === ';';
}

/** True for a gRPC request over HTTP/2 (not gRPC-Web). */
export function isGrpc(req: { headers: { 'content-type'?: string } }): boolean {
  return grpcKindOf(req.headers['content-type']) === 'grpc';
}

/** The `+format` suffix of a gRPC content type (`+proto`, `+json`), or empty. */
export function grpcFormat(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const plus = contentType.indexOf('+');
  if (plus === -1) return '';
  const semi = contentType.indexOf(';', plus);
  return contentType
    .slice(plus, semi === -1 ? undefined : semi)
    .trim()
    .toLowerCase();
}
