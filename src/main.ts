import type { Server } from 'node:http';
import { ConfigError, loadConfig, secretFromEnvironment } from './config/config.js';
import { ConfigFileError } from './config/configFileError.js';
import { loadDestinations } from './config/destinations.js';
import { Publisher } from './publish/publisher.js';
import { loadPolicy } from './config/policy.js';
import { logger, setLogLevel } from './log/logger.js';
import { HapiStore } from './store/hapiStore.js';
import { readConformanceFiles, ConformanceFileError } from './conformance/files.js';
import { loadConformance, ConformanceLoadError } from './conformance/loader.js';
import { AppError } from './outcome/errors.js';
import { createApp } from './api/app.js';
import type { Readiness } from './api/readiness.js';
import { createAuth, type Auth } from './api/authSetup.js';
import { SpoolLockedError } from './audit/spool.js';

function fail(message: string): never {
  logger.error('start-up stopped', { reason: message });
  process.exitCode = 1;
  // Let winston flush before exiting.
  setTimeout(() => process.exit(1), 100);
  throw new Error(message);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message);
    throw e;
  }
  setLogLevel(config.logLevel);

  // Checked before anything starts: a bad policy stops start-up naming the file and field.
  let policy;
  try {
    policy = loadPolicy(config.signOffPolicy);
  } catch (e) {
    if (e instanceof ConfigFileError) fail(e.message);
    throw e;
  }
  logger.info('sign-off policy loaded', { policy: policy.id, version: policy.version });

  // Outbound destinations, checked before anything starts like the policy.
  let destinations: ReturnType<typeof loadDestinations> = [];
  if (config.publishDestinationsFile !== '') {
    try {
      destinations = loadDestinations(config.publishDestinationsFile, {
        secret: (name) => secretFromEnvironment(name),
        production: config.nodeEnv === 'production',
      });
    } catch (e) {
      if (e instanceof ConfigFileError) fail(e.message);
      throw e;
    }
  }

  let files;
  try {
    files = await readConformanceFiles(config.profilesDir);
  } catch (e) {
    if (e instanceof ConformanceFileError) fail(`Conformance resource ${e.message}`);
    throw e;
  }

  const store = new HapiStore({
    baseUrl: config.fhirBaseUrl,
    timeoutMs: config.fhirTimeoutMs,
    retryAfterSeconds: config.retryAfterSeconds,
  });
  const readiness: Readiness = { conformanceLoaded: false };
  // A separate audit repository, when configured, keeps the audit trail's writes off the clinical store.
  const auditStore =
    config.auditFhirBaseUrl !== '' && config.auditFhirBaseUrl !== config.fhirBaseUrl
      ? new HapiStore({
          baseUrl: config.auditFhirBaseUrl,
          timeoutMs: config.fhirTimeoutMs,
          retryAfterSeconds: config.retryAfterSeconds,
        })
      : undefined;
  let auth: Auth;
  try {
    auth = createAuth(
      store,
      {
        issuers: config.oidcIssuers,
        audience: config.oidcAudience,
        algorithms: config.oidcAlgorithms,
        jwksCooldownMs: config.oidcJwksCooldownMs,
        clockToleranceSeconds: config.oidcClockToleranceSeconds,
        phrAppClients: config.phrAppClients,
        timeoutMs: config.fhirTimeoutMs,
        retryAfterSeconds: config.retryAfterSeconds,
        auditSpoolDir: config.auditSpoolDir,
      },
      auditStore ? { store: auditStore, referenceBase: config.oidcAudience.replace(/\/+$/, '') } : undefined,
    );
  } catch (e) {
    if (e instanceof SpoolLockedError) fail(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    if (code) fail(`The audit spool ${config.auditSpoolDir} cannot be opened (${code})`);
    throw e;
  }
  const app = createApp({
    store,
    ...(auditStore ? { auditStore } : {}),
    readiness,
    retryAfterSeconds: config.retryAfterSeconds,
    auth,
    policy,
    idempotencyLeaseMs: config.idempotencyLeaseMs,
    hstsMaxAgeSeconds: config.hstsMaxAgeSeconds,
    trustProxy: config.trustProxy,
    corsAllowedOrigins: config.corsAllowedOrigins,
    rateLimits: {
      windowMs: config.rateLimitWindowMs,
      perAddress: config.rateLimitPerAddress,
      perCaller: config.rateLimitPerCaller,
    },
  });
  const server: Server = app.listen(config.port, config.host, () => {
    logger.info('facade listening', {
      host: config.host,
      port: config.port,
      fhirBaseUrl: config.fhirBaseUrl,
      oidcIssuers: config.oidcIssuers,
    });
  });
  server.on('error', (e) => fail(`Cannot listen on ${config.host}:${config.port} (${e.message})`));

  // The publisher runs only when destinations are configured; it waits out HAPI by itself.
  const publisher = destinations.length
    ? new Publisher({ store, destinations, intervalMs: config.publishIntervalMs })
    : undefined;
  publisher?.start();

  const shutdown = (signal: string): void => {
    logger.info('shutting down', { signal });
    // The publisher saves its cursors and hands back its leases; audit events in flight are written
    // and the spool released (what is not yet stored stays in it for the next start).
    server.close(() => void Promise.allSettled([publisher?.stop(), auth.audit.close()]).finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 10000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // HAPI may still be booting: keep trying; /ready stays 503 until the load succeeds.
  for (let attempt = 1; ; attempt++) {
    try {
      await loadConformance(store, files);
      readiness.conformanceLoaded = true;
      delete readiness.conformanceProblem;
      return;
    } catch (e) {
      if (e instanceof ConformanceLoadError) fail(e.message);
      if (!(e instanceof AppError)) throw e;
      readiness.conformanceProblem = e.message;
      logger.warn('conformance load waiting for the FHIR store', { attempt, status: e.status });
      await new Promise((r) => setTimeout(r, Math.min(30000, 1000 * attempt)));
    }
  }
}

main().catch((e: unknown) => {
  logger.error('start-up failed', { error: e instanceof Error ? e.stack : String(e) });
  process.exitCode = 1;
});
