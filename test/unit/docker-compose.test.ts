import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig, repoRoot } from '../../src/config/config.js';

/**
 * docker-compose.yml read as compose reads it (YAML merge keys on). No compose CLI is checked here:
 * Debian ships only Compose v1, which rejects today's file format, and v2 needs Docker's own
 * packages; these checks hold the parts the service depends on.
 */

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const hapiVersion = /<hapi\.version>([^<]+)<\/hapi\.version>/.exec(read('docker/hapi/pom.xml'))?.[1];

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

describe('docker-compose.yml', () => {
  it('runs the facade, the clinical HAPI and the audit repository, each HAPI on a PostgreSQL of its own', () => {
    expect(Object.keys(services).sort()).toEqual(['audit-hapi', 'audit-postgres', 'facade', 'hapi', 'postgres']);
    expect(service('hapi').environment?.HAPI_DB_URL).toBe('jdbc:postgresql://postgres:5432/hapi');
    expect(service('audit-hapi').environment?.HAPI_DB_URL).toBe('jdbc:postgresql://audit-postgres:5432/audit');
  });

  it('points the facade at both HAPIs', () => {
    const env = service('facade').environment ?? {};
    expect(env.FHIR_BASE_URL).toBe('http://hapi:8080/fhir');
    expect(env.AUDIT_FHIR_BASE_URL).toBe('http://audit-hapi:8080/fhir');
  });

  it('makes the audit repository accept external references and skip subscriptions, through the shared settings file', () => {
    const env = service('audit-hapi').environment ?? {};
    expect(env.HAPI_ALLOW_EXTERNAL_REFERENCES).toBe('true');
    expect(env.HAPI_SUBSCRIPTIONS).toBe('false');
    expect(service('hapi').environment?.HAPI_ALLOW_EXTERNAL_REFERENCES).toBeUndefined();
    const settings = read('docker/hapi/compose-application.yaml');
    expect(settings).toContain('allow_external_references: ${HAPI_ALLOW_EXTERNAL_REFERENCES:false}');
    expect(settings).toContain('resthook_enabled: ${HAPI_SUBSCRIPTIONS:true}');
    for (const name of ['hapi', 'audit-hapi']) {
      expect(service(name).volumes).toContain(
        './docker/hapi/compose-application.yaml:/configs/hapi.application.yaml:ro',
      );
    }
  });

  it('health-checks every service: HAPI by /fhir/metadata, PostgreSQL by pg_isready', () => {
    for (const name of ['hapi', 'audit-hapi'])
      expect(service(name).healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8080/fhir/metadata');
    for (const name of ['postgres', 'audit-postgres'])
      expect(service(name).healthcheck?.test.join(' ')).toMatch(/^CMD-SHELL pg_isready /);
    expect(service('facade').healthcheck?.test.join(' ')).toContain('/ready');
  });

  it('starts each service only once what it needs is healthy', () => {
    expect(service('hapi').depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(service('audit-hapi').depends_on).toEqual({ 'audit-postgres': { condition: 'service_healthy' } });
    expect(service('facade').depends_on).toEqual({
      hapi: { condition: 'service_healthy' },
      'audit-hapi': { condition: 'service_healthy' },
    });
  });

  it('keeps each database on a named volume of its own', () => {
    const mounts = ['postgres', 'audit-postgres'].map((name) =>
      service(name).volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data')),
    );
    const names = mounts.map((m) => m?.split(':')[0]);
    expect(names).toEqual(['hapi-db', 'audit-db']);
    for (const n of names) expect(Object.keys(compose.volumes)).toContain(n);
  });

  it("keeps the facade's audit spool on a named volume where the image's user can write", () => {
    const spool = service('facade').environment?.AUDIT_SPOOL_DIR;
    expect(spool).toBe('/var/lib/phb/audit-spool');
    expect(service('facade').volumes).toContain(`facade-audit-spool:${spool ?? ''}`);
    expect(Object.keys(compose.volumes)).toContain('facade-audit-spool');
    const dockerfile = read('docker/Dockerfile');
    expect(dockerfile).toContain(`ENV AUDIT_SPOOL_DIR=${spool ?? ''}`);
    expect(dockerfile).toMatch(/chown -R node:node \/var\/lib\/phb/);
  });

  it('runs the HAPI release docker/hapi/pom.xml builds against', () => {
    expect(hapiVersion).toMatch(/^\d+\.\d+\.\d+$/);
    const from = /^FROM hapiproject\/hapi:v(\d+\.\d+\.\d+)-(\d+)$/m.exec(read('docker/hapi-image/Dockerfile'));
    expect(from?.[1]).toBe(hapiVersion);
    for (const name of ['hapi', 'audit-hapi']) {
      expect(service(name).build).toBe('docker/hapi-image');
      expect(service(name).image).toBe(`phb-hapi:v${hapiVersion}-${from?.[2]}`);
    }
  });

  it('lets HAPI give up on a database connection before the facade gives up on HAPI', () => {
    const timeouts = ['docker/hapi/compose-application.yaml', 'docker/hapi/src/main/resources/application.yaml'].map(
      (file) =>
        (parse(read(file)) as { spring: { datasource: { hikari: { 'connection-timeout': number } } } }).spring
          .datasource.hikari['connection-timeout'],
    );
    for (const t of timeouts) expect(t).toBeLessThan(loadConfig({}).fhirTimeoutMs);
  });
});
