import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GatewayPlugin } from '@lucid/gateway-core';
import { rateLimit } from '@lucid/middleware-ratelimit';
import { type RunningGateway, startGateway, startUpstream, type Upstream, until } from '@lucid/test-kit';
import { type Browser, launchChromium } from '@lucid/test-kit/browser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Screenshots for the record (gitignored). */
const SHOTS = fileURLToPath(new URL('../../test-results/ui/', import.meta.url));
// Checks fast and strict, so a dead target leaves rotation at its first failed check.
// Names and plugin details are data: the page must show them as text, never run them.
const XSS = '<img src=x onerror="window.__xss=1">';
const hostilePlugin: GatewayPlugin = {
  name: 'odd<b>plugin',
  async health() {
    return { healthy: true, detail: { note: '<script>window.__xss=2</script>', nested: { deep: XSS } } };
  },
  async dashboard() {
    return { [XSS]: { [XSS]: 1 } };
  },
};
const CHECK = {
  path: '/health',
  interval: '100ms',
  timeout: '1s',
  healthyThreshold: 1,
  unhealthyThreshold: 1,
};

describe('the dashboard page in a real browser', () => {
  let orders1: Upstream;
  let orders2: Upstream;
  let users: Upstream;
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [orders1, orders2, users] = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
    gw = await startGateway(
      {
        logging: { level: 'silent', pretty: false, accessLog: false },
        builtins: { ui: { refresh: '300ms' } },
        services: {
          orders: { targets: [orders1.url, orders2.url], health: CHECK, retry: { attempts: 2 } },
          users: { targets: [users.url], health: CHECK },
        },
        routes: [
          { prefix: '/orders', service: 'orders', auth: 'public', methods: ['GET', 'POST'] },
          { prefix: '/users', service: 'users', auth: 'public', rateLimit: '50/min' },
          { prefix: '/odd', service: 'users', auth: 'public', name: XSS },
        ],
      },
      // The rate limiter brings the routes table's "rate limit" column.
      [hostilePlugin, rateLimit()],
    );
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await Promise.all([orders1?.close(), orders2?.close(), users?.close()]);
  });

  const target = (u: Upstream) => `tr[data-target="${new URL(u.url).origin}"]`;

  it('lists the routes and every target of both services', async () => {
    await page.goto(`${gw.url}/ui`); // redirected to /ui/
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await page.waitForSelector('tr[data-route="/orders"]');
    await page.waitForSelector('tr[data-route="/users"]');
    for (const u of [orders1, orders2, users]) await page.waitForSelector(`${target(u)}[data-status="up"]`);
    expect(await page.textContent('tr[data-route="/users"]')).toContain('50/60s');
    expect(await page.textContent('tr[data-route="/orders"]')).toContain('POST');
    expect(await page.locator('h3[data-service]').allTextContents()).toEqual(['ordersup', 'usersup']);
  });

  it('shows a killed target as down, with its reason, on a following refresh', async () => {
    await orders2.close();
    const row = page.locator(`${target(orders2)}[data-status="down"]`);
    await row.waitFor();
    expect(await row.locator('.reason').textContent()).toBe('active check failing');
    expect(await row.locator('.check').textContent()).toMatch(/^failed, /);
    // The other target and the service stay up.
    expect(await page.getAttribute(target(orders1), 'data-status')).toBe('up');
    expect(await page.textContent('h3[data-service="orders"]')).toBe('ordersup');
  });

  it('moves the rates and counts when traffic passes', async () => {
    expect(await page.textContent('tr[data-route="/orders"] .rps')).toMatch(/^(–|0)$/);
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${gw.url}/orders/item/${i}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // Waits on the DOM by text (the page's CSP forbids the string evaluation waitForFunction uses).
    await page
      .locator('tr[data-route="/orders"] .rps')
      .filter({ hasText: /^(?!0$)\d/ })
      .waitFor();
    await page
      .locator(`${target(orders1)} .requests`)
      .filter({ hasText: /^([2-9]\d|\d{3,})$/ })
      .waitFor();
    expect(await page.textContent(`${target(orders2)} .requests`)).toBe('0');
    await page.screenshot({ path: `${SHOTS}dashboard.png`, fullPage: true });
  });

  it('draws fifteen-minute charts per route and per target, and moves them with traffic', async () => {
    const figures = page.locator('#charts figure.chart');
    await page.locator('figure[data-chart="targets:p99Ms"] canvas').waitFor();
    // Requests/s, 5xx rate and p99, for routes and for targets: six charts, each drawn on a canvas.
    expect(await figures.count()).toBe(6);
    expect(await page.locator('#charts figure.chart canvas').count()).toBe(6);
    const chart = page.locator('figure[data-chart="routes:requestsPerSecond"]');
    expect(await chart.locator('figcaption').textContent()).toContain('/orders');
    const latestBefore = await chart.getAttribute('data-latest');
    const pixelsBefore = await chart.locator('canvas').screenshot();
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${gw.url}/users/${i}`);
      await res.arrayBuffer();
    }
    // The page polls: wait (on the DOM, no timer of ours) until the chart has taken the new traffic in.
    await until(
      () => chart.getAttribute('data-latest'),
      (latest) => latest !== latestBefore,
    );
    // The canvas is composited into a frame of its own after the redraw, and a rebuilt chart replaces it
    // (a read of the detached one counts as no change): read it until it shows the change (until() fails
    // the test when it never does).
    const pixelsAfter = await until(
      () =>
        chart
          .locator('canvas')
          .screenshot()
          .catch(() => pixelsBefore),
      (pixels) => Buffer.compare(pixelsBefore, pixels) !== 0,
    );
    expect(Buffer.compare(pixelsBefore, pixelsAfter)).not.toBe(0);
    expect(await chart.locator('figcaption').textContent()).toMatch(/\/users [1-9][\d.]*\/s/);
    // The target chart names each target by service and origin, as /metrics does.
    expect(
      await page.locator('figure[data-chart="targets:requestsPerSecond"] figcaption').textContent(),
    ).toContain(`users ${new URL(users.url).origin}`);
    await page.screenshot({ path: `${SHOTS}dashboard-charts.png`, fullPage: true });
    if (process.env.LUCID_DASHBOARD_SCREENSHOT) {
      await page.screenshot({ path: process.env.LUCID_DASHBOARD_SCREENSHOT, fullPage: true });
    }
  });

  it('fits a phone-sized window without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.waitForSelector(`${target(orders2)}[data-status="down"]`);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    // The charts follow the width: one column, none wider than the screen.
    await page.locator('figure[data-chart="routes:requestsPerSecond"] canvas').waitFor();
    const widest = await page.evaluate<number>(
      'Math.max(...[...document.querySelectorAll("#charts canvas")].map((c) => c.getBoundingClientRect().right))',
    );
    expect(widest).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}dashboard-phone.png`, fullPage: true });
  });

  it('shows names and plugin details as text, never as markup', async () => {
    await page.waitForSelector('h3[data-component="odd<b>plugin"]');
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('#components img, #components script, #routes img, #plugins img').count()).toBe(
      0,
    );
    expect(await page.textContent('#components')).toContain('<script>window.__xss=2</script>');
    expect(await page.textContent('#plugins')).toContain(XSS);
    expect(await page.getAttribute('tr[data-route^="<img"]', 'data-route')).toBe(XSS);
  });

  it('loads nothing from elsewhere and breaks no rule of its own CSP', () => {
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((url) => url !== `${gw.url}/ui` && !url.startsWith(`${gw.url}/ui/`))).toEqual([]);
    expect(problems).toEqual([]);
  });
});
