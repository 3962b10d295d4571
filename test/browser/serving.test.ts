import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { describe, test } from 'node:test';
import { dashboardRoute } from '../../src/http/routes/dashboard.js';
import { serverForSuite } from '../helpers/server.js';
import { ensureWebBuilt, SUITE_STORE } from './browser.js';

/** A GET through node:http: the path goes out as written (fetch would resolve dot segments) and nothing is inflated. */
async function rawGet(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(`${url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

/** The asset paths index.html links (script, stylesheet, icon). */
function assetPaths(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1] ?? '');
}

describe('dashboard: serving the page', { timeout: 300_000 }, () => {
  ensureWebBuilt();
  const server = serverForSuite(SUITE_STORE);

  test('GET / is the page with a strict Content-Security-Policy and no-cache; assets are cached for a year', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|style="/, 'no inline style');

    const assets = assetPaths(html);
    assert.ok(assets.some((path) => path.endsWith('.js')) && assets.some((path) => path.endsWith('.css')), String(assets));
    for (const path of assets) {
      const asset = await fetch(`${server.url}${path}`);
      assert.equal(asset.status, 200, path);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable', path);
    }
    assert.equal((await fetch(`${server.url}/assets/index-nothere.js`)).status, 404);
    for (const path of ['/assets/../../package.json', '/assets/..%2F..%2Fpackage.json', '/assets/../index.html']) {
      assert.equal((await rawGet(server.url, path)).status, 404, path);
    }
  });

  test('assets go gzipped to clients that accept it, and an unchanged page answers 304', async () => {
    const page = await fetch(`${server.url}/`);
    const etag = page.headers.get('etag');
    const script = assetPaths(await page.text()).find((path) => path.endsWith('.js')) ?? '';
    assert.ok(etag);
    assert.equal((await fetch(`${server.url}/`, { headers: { 'if-none-match': etag } })).status, 304);

    const zipped = await rawGet(server.url, script, { 'accept-encoding': 'gzip, deflate' });
    const plain = await rawGet(server.url, script);
    assert.equal(zipped.encoding, 'gzip');
    assert.equal(plain.encoding, undefined);
    assert.deepEqual(gunzipSync(zipped.body), plain.body);
  });

  test('without a build, GET / explains how to build the page instead of failing', async (t) => {
    const empty = mkdtempSync(join(tmpdir(), 'logagg-noweb-'));
    const app = Fastify();
    dashboardRoute(app, { dir: empty });
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(async () => {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 503);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /npm run build/);
  });
});
