import type { Patient } from 'fhir/r4.js';
import { hapiControl, hapiIsOurs, testStore, uniqueId } from '../support/hapi.js';

// Restarting needs control of the HAPI process; with an outside FHIR_BASE_URL this file cannot run.
const describeOwned = hapiIsOurs() ? describe : describe.skip;

describeOwned('HAPI on its on-disk H2 database', () => {
  it('keeps data across a stop and start', async () => {
    const store = testStore();
    const id = uniqueId('pt');
    await store.update<Patient & { id: string }>({ resourceType: 'Patient', id, birthDate: '1979-11-23' });
    hapiControl('stop');
    hapiControl('start');
    const read = await store.read<Patient>('Patient', id);
    expect(read.birthDate).toBe('1979-11-23');
  }, 600000);
});
