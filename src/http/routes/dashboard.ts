import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the page (vite build of web/): the same path from src/ under tsx and from dist/. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

// Self only, no inline script or style: a payload that slipped into the DOM as markup could still run nothing.
// The page builds every row with textContent, so this is the second line, not the first.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface WebFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
}

interface Site {
  indexMtimeMs: number;
  files: Map<string, WebFile>;
}

const NOT_BUILT_PAGE =
  '<!doctype html><meta charset="utf-8"><title>logagg: dashboard not built</title>' +
  '<h1>The dashboard is not built</h1><p>The API is running. To serve the dashboard, build it with ' +
  '<code>npm run build</code> (or <code>npx vite build --config web/vite.config.ts</code>) and reload this page.</p>';

/** Reads every file of the built page into memory, gzipped once: it is ~100 kB, and requests then touch no disk. */
function loadSite(dir: string): Site | undefined {
  let indexMtimeMs: number;
  try {
    indexMtimeMs = statSync(join(dir, 'index.html')).mtimeMs;
  } catch {
    return undefined;
  }
  const files = new Map<string, WebFile>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const body = readFileSync(path);
    const type = TYPES[extname(entry.name)] ?? 'application/octet-stream';
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
    files.set(`/${relative(dir, path).split(sep).join('/')}`, {
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return { indexMtimeMs, files };
}

function send(request: FastifyRequest, reply: FastifyReply, file: WebFile, cacheControl: string): FastifyReply {
  reply
    .header('content-type', file.type)
    .header('cache-control', cacheControl)
    .header('etag', file.etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (file.gzip && acceptsGzip) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

export interface DashboardRouteOptions {
  /** The built page; default DEFAULT_WEB_DIR. */
  dir?: string;
}

/**
 * GET / (the dashboard) and GET /assets/* (its hashed files). Both are public: the page holds no data and asks
 * for the API key itself; every figure it shows comes from the protected API.
 */
export function dashboardRoute(app: FastifyInstance, options: DashboardRouteOptions = {}): void {
  const dir = options.dir ?? DEFAULT_WEB_DIR;
  let site: Site | undefined;
  // Loaded on first use and again when index.html changes, so a rebuild under `npm run dev` needs no restart.
  const current = (): Site | undefined => {
    let mtimeMs: number | undefined;
    try {
      mtimeMs = statSync(join(dir, 'index.html')).mtimeMs;
    } catch {
      mtimeMs = undefined;
    }
    if (mtimeMs === undefined) site = undefined;
    else if (site?.indexMtimeMs !== mtimeMs) site = loadSite(dir);
    return site;
  };
  const routeOptions = { schema: { hide: true }, config: { access: 'public' as const } };

  app.get('/', routeOptions, async (request, reply) => {
    const index = current()?.files.get('/index.html');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('referrer-policy', 'no-referrer');
    if (!index) return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    // no-cache: revalidate each load (the ETag makes that a 304), so a new build's asset names are picked up.
    return send(request, reply, index, 'no-cache');
  });

  app.get('/assets/*', routeOptions, async (request, reply) => {
    const file = (site ?? current())?.files.get(request.url.split('?')[0] ?? '');
    if (!file) return reply.callNotFound();
    // Vite puts a content hash in every asset name: a name never changes meaning, so it may be kept for a year.
    return send(request, reply, file, 'public, max-age=31536000, immutable');
  });
}
