import { ConfigError, loadConfig } from '../config/config.js';
import { logger } from '../log/logger.js';
import { DEMO_CLIENTS, DEMO_CLIENT_CLAIMS, DEMO_USERS } from './demo.js';
import { newSigningKey } from './keys.js';
import { startIdentityProvider } from './provider.js';
import { demoTransaction } from './seed.js';
import { HapiStore } from '../store/hapiStore.js';

/** `npm start` runs this beside the facade: the development identity provider on loopback. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (config.nodeEnv === 'production') {
    throw new Error(
      'The development identity provider refuses to run with NODE_ENV=production: configure OIDC_ISSUERS instead',
    );
  }
  const running = await startIdentityProvider({
    host: '127.0.0.1',
    port: config.devIdentityPort,
    audience: config.oidcAudience,
    users: DEMO_USERS,
    clients: DEMO_CLIENTS,
    clientClaims: DEMO_CLIENT_CLAIMS,
    keys: [await newSigningKey()],
    corsOrigins: config.corsAllowedOrigins,
  });
  logger.warn('development identity provider listening: DEVELOPMENT ONLY, demo users, keys in memory', {
    issuer: running.issuer,
  });
  // The demo users' records, so each can see what their role allows; PUT by id, so repeating it changes nothing.
  const store = new HapiStore({
    baseUrl: config.fhirBaseUrl,
    timeoutMs: config.fhirTimeoutMs,
    retryAfterSeconds: config.retryAfterSeconds,
  });
  try {
    await store.transaction(demoTransaction(new Date().toISOString()));
    logger.info('demo records written to the FHIR store');
  } catch (e) {
    logger.warn('demo records not written: demo users will see nothing until they are', {
      status: (e as { status?: unknown }).status,
    });
  }
  const stop = (): void => void running.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  logger.error('development identity provider stopped', {
    reason: e instanceof ConfigError || e instanceof Error ? e.message : String(e),
  });
  process.exitCode = 1;
});
