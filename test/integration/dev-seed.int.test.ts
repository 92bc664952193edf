import { DEV_IDENTITY } from '../../src/config/config.js';
import { StoreAccessFacts } from '../../src/auth/facts.js';
import { DEMO_GP_ODS, DEMO_PATIENT_ID } from '../../src/devIdentity/demo.js';
import { demoTransaction } from '../../src/devIdentity/seed.js';
import { testStore } from '../support/hapi.js';

describe('development demo records', () => {
  const store = testStore();
  const facts = new StoreAccessFacts(store);

  beforeAll(async () => {
    await store.transaction(demoTransaction(new Date().toISOString()));
  });

  it('give each demo user the access their role expects', async () => {
    expect(await facts.consentActive(DEMO_PATIENT_ID, DEV_IDENTITY.phrAppClient)).toBe(true);
    expect(await facts.onTeam('demo-care-coordinator', 'care-coordinator', DEMO_PATIENT_ID)).toBe(true);
    expect(await facts.onTeam('demo-commissioner', 'commissioner', DEMO_PATIENT_ID)).toBe(true);
    expect(await facts.represents('demo-representative', DEMO_PATIENT_ID)).toBe(true);
    expect(await facts.registeredWith(DEMO_PATIENT_ID, DEMO_GP_ODS)).toBe(true);
    // A role the record does not hold is not taken from the token.
    expect(await facts.onTeam('demo-care-coordinator', 'commissioner', DEMO_PATIENT_ID)).toBe(false);
  });

  it('can be written again without new versions', async () => {
    const before = await store.read('Patient', DEMO_PATIENT_ID);
    await store.transaction(demoTransaction(new Date().toISOString()));
    const after = await store.read('Patient', DEMO_PATIENT_ID);
    expect(after.meta?.versionId).toBe(before.meta?.versionId);
  });
});
