import js from '@eslint/js';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// Imports point down (docs/style.md §1): each folder lists what it must not reach. A pattern is a glob, a list of
// globs read as one group (`!` excepts), or { regex } for what globs cannot say.
const restrict = (files, patterns) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: patterns.map((pattern) => ({
          ...(typeof pattern === 'string' ? { group: [pattern] } : Array.isArray(pattern) ? { group: pattern } : pattern),
          message: 'Imports point down: see docs/style.md §1',
        })),
      },
    ],
  },
});
// An inlet (src/inlets/<name>/, docs/architecture.md) reaches schema/, errors.ts, metrics.ts, the pipeline's
// public surface (ingest/index.ts) and the shared helpers at the root of src/inlets/; never a store, the config,
// the app, the HTTP plumbing (types aside) or another inlet. Only the composition root knows every inlet.
const FROM_INLET = [
  ['**/ingest/**', '!**/ingest/index.js'],
  { group: ['**/http/**'], allowTypeImports: true },
  { group: ['**/auth/**'], allowTypeImports: true },
  { group: ['**/quota/**'], allowTypeImports: true },
  '**/store/**',
  '**/app.js',
  '**/server.js',
  '**/config.js',
  'pg',
  '@electric-sql/*',
];
const UP_FROM_SCHEMA = [
  '**/errors.js',
  '**/auth/**',
  '**/quota/**',
  '**/config.js',
  '**/store/**',
  '**/ingest/**',
  '**/inlets/**',
  '**/http/**',
  '**/app.js',
  '**/server.js',
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: ['./tsconfig.json', './web/tsconfig.json'], noWarnOnMultipleProjects: true }),
      ],
      'import-x/ignore': ['node_modules'],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-default-export': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  restrict(['src/schema/**'], UP_FROM_SCHEMA),
  // The key decision: below HTTP and gRPC alike, so no framework.
  restrict(
    ['src/auth/**'],
    ['**/store/**', '**/ingest/**', '**/inlets/**', '**/http/**', '**/app.js', '**/server.js', '**/config.js', 'fastify'],
  ),
  // Quotas: below HTTP and gRPC alike, like the key decision.
  restrict(
    ['src/quota/**'],
    ['**/store/**', '**/ingest/**', '**/inlets/**', '**/http/**', '**/app.js', '**/server.js', '**/config.js', 'fastify'],
  ),
  restrict(['src/errors.ts', 'src/config.ts'], ['**/store/**', '**/ingest/**', '**/inlets/**', '**/http/**', '**/app.js', '**/server.js']),
  restrict(['src/store/**'], ['**/ingest/**', '**/inlets/**', '**/http/**', '**/app.js', '**/server.js', 'fastify', '@nats-io/*']),
  restrict(
    ['src/ingest/**'],
    [
      '**/http/**',
      '**/inlets/**',
      '**/app.js',
      '**/server.js',
      'pg',
      '@electric-sql/*',
      'fastify',
      '**/store/postgres.js',
      '**/store/pglite.js',
      '**/store/sql.js',
    ],
  ),
  // The HTTP plumbing serves every route; it may use the inlets' shared helpers (src/inlets/*.ts), never an inlet.
  restrict(
    ['src/http/**'],
    [
      '**/app.js',
      '**/server.js',
      'pg',
      '@electric-sql/*',
      '**/store/postgres.js',
      '**/store/pglite.js',
      '**/store/sql.js',
      { regex: '/inlets/[^/]+/' },
    ],
  ),
  // Shared inlet helpers: plain functions below every inlet and the HTTP plumbing.
  restrict(['src/inlets/*.ts'], [...FROM_INLET, '**/ingest/**', '**/http/**', 'fastify', '@nats-io/*', { regex: '^\\./[^/]+/' }]),
  // An inlet's own files, at its top and nested: `../x/` (or `../../x/`) would be another inlet.
  restrict(['src/inlets/*/*.ts'], [...FROM_INLET, { regex: '^\\.\\./[^./][^/]*/' }]),
  restrict(['src/inlets/*/*/**'], [...FROM_INLET, { regex: '^\\.\\./\\.\\./[^./][^/]*/' }]),
  // cli/serve.ts and cli/migrate.ts are composition roots (docs/style.md §1); the other tools speak HTTP only.
  {
    ...restrict(
      ['src/client/**', 'src/pino/**', 'src/cli/**'],
      [
        '**/store/**',
        '**/ingest/**',
        '**/http/**',
        '**/inlets/**',
        '**/app.js',
        '**/server.js',
        '**/config.js',
        'pg',
        '@electric-sql/*',
        'fastify',
      ],
    ),
    ignores: ['src/cli/serve.ts', 'src/cli/migrate.ts'],
  },
  // Route types come from the route's TypeBox schemas (withTypeProvider<TypeBoxTypeProvider>()), never from a
  // hand-written generic that can drift from them (docs/style.md §3).
  {
    files: ['src/http/**', 'src/inlets/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/^(get|post|put|patch|delete|head|options|all|route)$/][typeArguments]',
          message: 'Type a route from its schema: app.withTypeProvider<TypeBoxTypeProvider>().get(...)',
        },
      ],
    },
  },
  restrict(['src/app.ts'], ['pg', '@electric-sql/*', '**/server.js', '**/store/postgres.js', '**/store/pglite.js']),
  { files: ['test/**', 'bench/**', 'src/cli/**'], rules: { 'no-console': 'off' } },
  // The dashboard reaches the server over HTTP only: from src/ it may import schema types and nothing else.
  // Browser code: TypeScript checks names against the DOM lib (web/tsconfig.json), so no-undef stays off as for
  // all TS; Node's globals are refused here because vite's types would let them type-check.
  {
    files: ['web/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '/src/(?!schema/)', message: 'The dashboard uses the HTTP API only: see docs/dashboard.md' },
            { group: ['**/src/schema/**'], allowTypeImports: true, message: 'The dashboard imports only types from src/schema/' },
            { group: ['node:*', 'pg', '@electric-sql/*', 'fastify'], message: 'Browser code' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Buffer', 'require', 'module', '__dirname', '__filename', 'global'],
    },
  },
);
