import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { GatewayError, type RoutedContext } from '@lucid/gateway-core';
import type { OpenApiCatalog } from './catalog.js';
import { sendBody, sendOpenApi } from './serve.js';

// The only files served from the package: a fixed list, so no request path ever reaches the disk.
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

// Starts Swagger UI from a file rather than an inline script, so the page's CSP needs no 'unsafe-inline'
// for scripts. validatorUrl null: the default sends the document to an outside validator.
const INIT_JS = `window.addEventListener('load', function () {
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-spec'),
    dom_id: '#swagger-ui',
    validatorUrl: null,
    deepLinking: true,
    displayRequestDuration: true,
    persistAuthorization: false,
  });
});
`;

interface Asset {
  body: Buffer;
  /** The same, gzipped once (scripts and styles: 1.9 MB become about 0.5 MB on the wire). */
  gzip: Buffer | undefined;
}

/** Loaded on the first asset request, so a gateway whose docs nobody opens never reads the package. */
let assets: Promise<Map<string, Asset>> | undefined;

function loadAssets(): Promise<Map<string, Asset>> {
  assets ??= (async () => {
    // Swagger UI's own files as @fastify/swagger-ui ships them (copied from swagger-ui-dist when it was
    // published): the same UI, from a package whose install runs no script and reports to no one.
    const dir = join(
      dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')),
      'static',
    );
    const read = async (name: string): Promise<[string, Asset]> => {
      const body = name === 'init.js' ? Buffer.from(INIT_JS) : await readFile(join(dir, name));
      const zipped = /\.(js|css)$/.test(name) ? await promisify(gzip)(body) : undefined;
      return [name, { body, gzip: zipped }];
    };
    return new Map(await Promise.all([...Object.keys(ASSETS), 'init.js'].map(read)));
  })();
  assets.catch(() => {
    assets = undefined; // let a later request try again
  });
  return assets;
}

/** `gzip` listed and not refused with `q=0` (RFC 9110 §12.5.3). */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page: everything from this gateway; the CSP makes the browser refuse anything else. */
function page(base: string, title: string): string {
  const b = escapeHtml(base);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" type="image/png" href="${b}/assets/favicon-32x32.png">
<link rel="stylesheet" href="${b}/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="${b}/openapi.json"></div>
<script src="${b}/assets/swagger-ui-bundle.js"></script>
<script src="${b}/assets/init.js"></script>
</body>
</html>
`;
}

/**
 * The `/docs` built-in: an API reference (Swagger UI, its files from the `@fastify/swagger-ui` package)
 * over the merged document, fully offline. `/docs` is the page, `/docs/openapi.json` the document
 * it reads (so the docs' own auth and scopes cover it), `/docs/assets/*` the page's files.
 *
 * @example docsHandler(catalog, () => config.builtins.docs) // GET /docs -> text/html
 */
export function docsHandler(
  catalog: OpenApiCatalog,
  settings: () => { base: string; title: string; publicUrl: string | undefined },
): (ctx: RoutedContext) => Promise<void> {
  return async function docs(ctx: RoutedContext): Promise<void> {
    const sub = ctx.route.upstreamPath;
    const { base, title, publicUrl } = settings();
    if (sub === '/' || sub === '' || sub === '/index.html') {
      // "Try it out" may call the configured public origin; nothing else may be reached.
      const connect = publicUrl ? ` ${new URL(publicUrl).origin}` : '';
      sendBody(
        ctx,
        200,
        {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-cache',
          'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'${connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'referrer-policy': 'no-referrer',
          'x-frame-options': 'DENY',
        },
        page(base === '/' ? '' : base, title),
      );
      return;
    }
    if (sub === '/openapi.json' || sub === '/openapi.yaml') {
      await sendOpenApi(ctx, catalog);
      return;
    }
    const name = sub.startsWith('/assets/') ? sub.slice('/assets/'.length) : '';
    const type =
      name === 'init.js'
        ? 'text/javascript; charset=utf-8'
        : Object.hasOwn(ASSETS, name)
          ? ASSETS[name]
          : undefined;
    if (!type) throw new GatewayError('GW_ROUTE_NOT_FOUND', { detail: `no route for ${ctx.path}` });
    const asset = (await loadAssets()).get(name)!;
    const headers = {
      'content-type': type,
      'cache-control': 'public, max-age=3600',
      vary: 'accept-encoding',
    };
    if (asset.gzip && acceptsGzip(ctx.req.headers['accept-encoding'])) {
      sendBody(ctx, 200, { ...headers, 'content-encoding': 'gzip' }, asset.gzip);
    } else sendBody(ctx, 200, headers, asset.body);
  };
}
