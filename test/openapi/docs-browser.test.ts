import { type RunningGateway, send, startGateway, until } from '@lucid/test-kit';
import { type Browser, launchChromium } from '@lucid/test-kit/browser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_31_YAML, type DocUpstream, docUpstream, USERS_30 } from './upstreams.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from the gateway; the assertions check its shape
type Json = any;

/**
 * /docs in a real browser (Debian's chromium, headless): the page loads with no request leaving
 * 127.0.0.1, lists the running services' operations, and "Try it out" on a public operation gets
 * the upstream's answer through the gateway.
 */
describe('/docs in a browser', () => {
  let users: DocUpstream;
  let catalog: DocUpstream;
  let gw: RunningGateway;
  let browser: Browser;

  beforeAll(async () => {
    users = await docUpstream('/openapi.json', JSON.stringify(USERS_30));
    catalog = await docUpstream('/openapi.yaml', CATALOG_31_YAML, 'application/yaml');
    gw = await startGateway({
      logging: { level: 'silent', pretty: false, accessLog: false },
      services: {
        users: { targets: [users.url], openapi: '/openapi.json' },
        catalog: { targets: [catalog.url], openapi: '/openapi.yaml' },
      },
      routes: [
        { prefix: '/users', service: 'users', stripPrefix: false },
        { prefix: '/shop', service: 'catalog', auth: 'public' },
      ],
    });
    await until(
      async () => (await send(`${gw.url}/health`)).json<Json>(),
      (h) => h.components?.openapi?.healthy === true,
    );
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await Promise.all([users?.close(), catalog?.close()]);
  });

  it('loads offline, lists the operations and runs "Try it out" through the gateway', async () => {
    const page = await browser.context.newPage();
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${gw.url}/docs`);
    const summaries = page.locator('.opblock-summary-path');
    await summaries.first().waitFor();
    const paths = await summaries.allInnerTexts();
    const listed = paths.map((p) => p.replace(/\u200b/g, '').trim());
    expect(listed).toEqual(
      expect.arrayContaining(['/users', '/users/{id}', '/shop/items', '/shop/items/{sku}']),
    );
    expect(listed).not.toContain('/admin/stats');

    const block = page.locator('.opblock', {
      has: page.locator('.opblock-summary-path[data-path="/shop/items"]'),
    });
    await block.locator('.opblock-summary').click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    await block.getByRole('button', { name: 'Execute' }).click();
    const answer = block.locator('.live-responses-table .response-col_description pre');
    await answer.first().waitFor();
    const body = JSON.parse((await answer.first().textContent()) ?? '');
    // The catalog stand-in answered: prefix stripped by the gateway, as the route says.
    expect(body).toEqual({ upstream: '/openapi.yaml', method: 'GET', url: '/items' });
    expect(catalog.seen.some((s) => s.url === '/items')).toBe(true);

    expect(requested).toContain(`${gw.url}/shop/items`);
    const outside = requested.filter((u) => !u.startsWith(`${gw.url}/`) && !u.startsWith('data:'));
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
