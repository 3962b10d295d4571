import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built into dist/web, which src/http/routes/dashboard.ts serves at GET / from the aggregator itself (no CDN).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // Inlined assets would be data: URLs; the page's Content-Security-Policy allows files from 'self' only.
    assetsInlineLimit: 0,
    // One entry chunk, so no preload polyfill is needed (it would be the only inline-able helper).
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
  // `npx vite --config web/vite.config.ts` serves the page with live reload against an aggregator on :8080.
  server: {
    proxy: Object.fromEntries(['/stats', '/topics', '/events', '/metrics', '/ready'].map((path) => [path, 'http://127.0.0.1:8080'])),
  },
});
