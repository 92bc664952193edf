import path from 'node:path';
import type { Patient } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import {
  hapiControl,
  hapiIsOurs,
  runStore,
  startHapi,
  testStore,
  uniqueId,
  type HapiStoreKind,
} from '../support/hapi.js';

// Restarting needs control of the HAPI process; with an outside FHIR_BASE_URL this file cannot run.
const describeOwned = hapiIsOurs() ? describe : describe.skip;
const OTHER_STORE_PORT = process.env.TEST_RESTART_HAPI_PORT ?? '8098';
const BOOT_MS = 600000;

async function writeRestartRead(store: HapiStore, restart: () => Promise<void>): Promise<void> {
  const id = uniqueId('pt');
  await store.update<Patient & { id: string }>({ resourceType: 'Patient', id, birthDate: '1979-11-23' });
  await restart();
  const read = await store.read<Patient>('Patient', id);
  expect(read.birthDate).toBe('1979-11-23');
}

// The run's HAPI on its store, and a HAPI of its own on the other store, so both stores are covered.
describeOwned.each<HapiStoreKind>(['postgres', 'h2'])('HAPI on %s', (kind) => {
  it(
    'keeps data across a stop and start',
    async () => {
      if (kind === runStore()) {
        await writeRestartRead(testStore(), async () => {
          await hapiControl('stop');
          await hapiControl('start');
        });
        return;
      }
      const options = {
        store: kind,
        port: OTHER_STORE_PORT,
        dataDir: path.join(repoRoot, 'data', `hapi-restart-${kind}`),
      };
      let hapi = await startHapi(options);
      try {
        await writeRestartRead(
          new HapiStore({ baseUrl: hapi.baseUrl, timeoutMs: 15000, retryAfterSeconds: 5 }),
          async () => {
            await hapi.stop();
            hapi = await startHapi(options);
          },
        );
      } finally {
        await hapi.stop();
      }
    },
    2 * BOOT_MS,
  );
});
