import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * OpenAPI 3 generated from the routes' TypeBox schemas: the document at /openapi.json, a browsable UI at
 * /docs (its assets ship in the package, no CDN).
 */
export async function docsPlugin(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'logagg',
        version,
        description:
          'Pub-sub log aggregator: at-least-once publishes, exactly-once storage per (topic, event_id). ' +
          'A 2xx from POST /publish means the events are committed.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'Needed when the server runs with API_KEY, KEYS or KEYS_FILE; each route needs a role (docs/tenants.md)',
          },
        },
      },
    },
  });
  // The UI's routes are the plugin's own: in a scope of their own, they are marked as needing any valid key, like
  // the document they show (an undeclared route would need admin: docs/tenants.md).
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'key' };
    });
    await scope.register(swaggerUi, { routePrefix: '/docs' });
  });
  app.get('/openapi.json', { config: { access: 'key' }, schema: { hide: true } }, async () => app.swagger());
}
