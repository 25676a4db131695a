import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_CSS } from './page-style.js';

export { PAGE_CSS, PAGE_SCRIPT };

/** A small icon of its own, so the browser does not go asking the gateway's root for one. */
export const PAGE_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#1a7f37"/></svg>';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The dashboard's HTML shell; the script fills it from `state.json` (relative URLs, so the page
 * works under any path and behind a proxy that strips a prefix). Built once per config.
 *
 * @example pageHtml({ title: 'lucid-api-gateway', refreshMs: 2000 })
 */
export function pageHtml(opts: { title: string; refreshMs: number }): string {
  const title = escapeHtml(opts.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · dashboard</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="uplot.css">
<link rel="stylesheet" href="app.css">
<script src="uplot.js" defer></script>
<script src="app.js" defer></script>
</head>
<body data-refresh-ms="${opts.refreshMs}">
<header>
<h1>${title}</h1>
<div class="meta">
<span id="version"></span>
<span id="ready"></span>
<span>config <code id="config-hash"></code></span>
<span id="reload"></span>
<span id="status" role="status" aria-live="polite">loading…</span>
</div>
</header>
<main>
<section id="charts"><h2>Last 15 minutes</h2><div class="body"></div></section>
<section id="services"><h2>Services and targets</h2><div class="body"></div></section>
<section id="routes"><h2>Routes</h2><div class="body"></div></section>
<section id="components"><h2>Components</h2><div class="body"></div></section>
<section id="plugins"><h2>Rate limiting and plugins</h2><div class="body"></div></section>
</main>
<noscript>This page needs JavaScript; the same data is at <a href="state.json">state.json</a>.</noscript>
</body>
</html>
`;
}
