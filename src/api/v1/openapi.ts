import { API_V1_ROUTES } from './routes.js';
import { SCHEMAS } from './schemas.js';

/**
 * The OpenAPI 3.1 description of /api/v1, built from the route table and the same schemas ajv
 * checks bodies against, so it cannot describe an API other than the one served.
 */
const problem = (description: string): Record<string, unknown> => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_V1_ROUTES) {
    const path = route.path.replace(/^\/v1/, '').replace(/:([A-Za-z]+)/g, '{$1}');
    const params = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { $ref: '#/components/schemas/Id' },
    }));
    const write = route.method === 'post';
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method] = {
      tags: [route.tag],
      summary: route.summary,
      description: `Needs the ${route.interaction} permission on ${route.resource} for the person concerned (src/auth/permissions.ts).`,
      security: [{ bearer: [] }],
      parameters: [
        ...params,
        ...(write
          ? [
              {
                name: 'Idempotency-Key',
                in: 'header',
                required: true,
                description: 'The same on every retry: a retry returns the first result and writes nothing.',
                schema: { type: 'string', minLength: 1, maxLength: 255 },
              },
            ]
          : []),
        ...(write && route.ifMatch
          ? [
              {
                name: 'If-Match',
                in: 'header',
                required: false,
                description: `The ETag of ${route.ifMatch} as read; a change made since is 409.`,
                schema: { type: 'string' },
              },
            ]
          : []),
      ],
      ...(write
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: { $ref: `#/components/schemas/${route.request}` },
                  ...(route.example ? { example: route.example } : {}),
                },
              },
            },
          }
        : {}),
      responses: {
        [write ? String(route.status) : '200']: {
          description: 'OK',
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${route.response}` } } },
        },
        400: problem('Malformed request: each problem has a JSON pointer (errors[].pointer)'),
        401: problem('No valid access token'),
        403: problem('The caller may not do this for this person'),
        404: problem('No such record for this person'),
        ...(write
          ? {
              409: problem('The record changed since it was read (If-Match), or another decision came first'),
              413: problem('The body is over 1 MB'),
              415: problem('The body is not application/json'),
              422: problem('A PHB rule refuses it (e.g. a plan over budget), with the reason'),
            }
          : {}),
        503: problem('The FHIR store is unavailable; retry after Retry-After seconds'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'PHB journey API',
      version: '1.0.0',
      description:
        'The six steps of a personal health budget on FHIR R4: referral and eligibility, needs, the money, the plan, organising care (sign-off, agreement, payments, spend), monitoring and review. Money is whole pence.',
    },
    servers: [{ url: '/api/v1' }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: SCHEMAS,
    },
    paths,
  };
}
