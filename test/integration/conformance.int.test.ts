import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { StructureDefinition } from 'fhir/r4.js';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';
import { repoRoot } from '../../src/config/config.js';
import { testStore, uniqueId } from '../support/hapi.js';
import { validationErrors } from '../support/validation.js';

const store = testStore(60000);

function patientProfile(id: string): StructureDefinition & { id: string } {
  return {
    resourceType: 'StructureDefinition',
    id,
    url: `https://phb.fhir.example.org/test/StructureDefinition/${id}`,
    version: '1.0.0',
    name: 'TestPatientWithBirthDate',
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
    derivation: 'constraint',
    differential: { element: [{ id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 }] },
  };
}

describe('conformance loader against the real HAPI server', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'phb-profiles-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the shipped profiles/ and writes nothing on a second load', async () => {
    const files = await readConformanceFiles(path.join(repoRoot, 'profiles'));
    expect(files.length).toBeGreaterThan(0);
    await loadConformance(store, files);
    const again = await loadConformance(store, files);
    expect(again).toEqual({ total: files.length, written: 0, unchanged: files.length });
  });

  it('upserts by id, keeps the version of unchanged resources, and $validate uses an uploaded profile', async () => {
    const id = uniqueId('test-patient');
    const profile = patientProfile(id);
    await writeFile(path.join(dir, 'profile.json'), JSON.stringify(profile));
    const first = await loadConformance(store, await readConformanceFiles(dir));
    expect(first.written).toBe(1);
    const stored = await store.read<StructureDefinition>('StructureDefinition', id);
    expect(stored.meta?.versionId).toBe('1');

    expect((await loadConformance(store, await readConformanceFiles(dir))).written).toBe(0);
    expect((await store.read<StructureDefinition>('StructureDefinition', id)).meta?.versionId).toBe('1');

    await writeFile(path.join(dir, 'profile.json'), JSON.stringify({ ...profile, description: 'changed' }));
    expect((await loadConformance(store, await readConformanceFiles(dir))).written).toBe(1);
    expect((await store.read<StructureDefinition>('StructureDefinition', id)).meta?.versionId).toBe('2');

    const outcome = await store.validate({ resourceType: 'Patient', name: [{ family: 'Test' }] }, profile.url);
    const errors = validationErrors(outcome);
    expect(errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(errors)).toMatch(/birthDate/);

    const valid = await store.validate({ resourceType: 'Patient', birthDate: '1984-03-12' }, profile.url);
    expect(validationErrors(valid)).toEqual([]);
  });

  it('validates offline against base R4', async () => {
    // An Observation must have a status and a code in base R4.
    const outcome = await store.validate({ resourceType: 'Observation' } as never);
    const errors = (outcome.issue ?? []).filter((i) => i.severity === 'error');
    expect(JSON.stringify(errors)).toMatch(/Observation\.status/);
    expect(JSON.stringify(errors)).toMatch(/Observation\.code/);
  });
});
