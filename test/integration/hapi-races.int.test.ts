import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, FhirResource, Patient } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { AppError } from '../../src/outcome/errors.js';
import { HapiStore } from '../../src/store/hapiStore.js';
import { hapiControl, uniqueId } from '../support/hapi.js';

/**
 * Concurrent first writes against a HAPI of ours on a database of its own (H2, its own data dir and port), through
 * the adapter. HAPI registers resource types in HFJ_RESOURCE_TYPE and conditional-create keys, client ids and
 * versions in unique indexes of its own; concurrent writers race on those. A client must never see such a race
 * (as 500 or 409), and nothing may be written twice or half.
 *
 * HAPI fills HFJ_RESOURCE_TYPE on its own only when the table is empty; to cover a database whose table lacks
 * types, the test deletes every row but Patient's from a new database and starts HAPI again before writing.
 */

const PORT = process.env.TEST_FRESH_HAPI_PORT ?? '8084';
const DATA_DIR = path.join(repoRoot, 'data', 'hapi-races');
// The test reads H2's own tables, so this HAPI is on H2 whatever the run's store.
const ENV = { ...process.env, HAPI_STORE: 'h2', HAPI_PORT: PORT, HAPI_DATA_DIR: DATA_DIR };
const H2_JAR = path.join(repoRoot, '.m2', 'repository', 'com', 'h2database', 'h2', '2.3.232', 'h2-2.3.232.jar');
// Each start waits up to HAPI_START_TIMEOUT (scripts/hapi.sh); the hooks allow for that.
const HAPI_BOOT_MS = Number(process.env.HAPI_START_TIMEOUT ?? '300') * 1000 + 30000;
const WRITERS = 40;

/** R4 resource types that accept a resource with nothing but a tag and a profile. */
const TYPES = [
  'AdverseEvent',
  'AllergyIntolerance',
  'AppointmentResponse',
  'Basic',
  'BiologicallyDerivedProduct',
  'CarePlan',
  'CareTeam',
  'CatalogEntry',
  'ChargeItem',
  'Claim',
  'ClaimResponse',
  'ClinicalImpression',
  'Communication',
  'Condition',
  'Coverage',
  'DetectedIssue',
  'Device',
  'DeviceMetric',
  'DeviceRequest',
  'DiagnosticReport',
  'Encounter',
  'EnrollmentRequest',
  'EpisodeOfCare',
  'ExplanationOfBenefit',
  'FamilyMemberHistory',
  'Flag',
  'Goal',
  'Group',
  'ImagingStudy',
  'Immunization',
  'Invoice',
  'Location',
  'MeasureReport',
  'Medication',
  'MedicationRequest',
  'NutritionOrder',
  'Observation',
  'Procedure',
  'QuestionnaireResponse',
  'RiskAssessment',
  'ServiceRequest',
  'Specimen',
  'SupplyRequest',
  'Task',
] as const;

const store = new HapiStore({ baseUrl: `http://127.0.0.1:${PORT}/fhir`, timeoutMs: 30000, retryAfterSeconds: 5 });

function tagged(type: string, tag: string): FhirResource {
  return {
    resourceType: type,
    meta: {
      tag: [{ system: 'https://example.org/test-race', code: tag }],
      profile: [`https://example.org/test-race/${tag}`],
    },
  } as FhirResource;
}

async function countTagged(type: string, tag: string): Promise<number> {
  const found = await store.search(type as FhirResource['resourceType'], {
    _tag: `https://example.org/test-race|${tag}`,
    _summary: 'count',
  });
  return found.total ?? -1;
}

/** Every settled result, so one failure does not hide the others. */
async function settle<T>(jobs: Promise<T>[]): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(jobs);
  return {
    values: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
}

const describeError = (e: unknown): string => (e instanceof AppError ? `${e.status} ${e.message}` : String(e));

describe('concurrent first writes on a database of its own', () => {
  beforeAll(async () => {
    await hapiControl('stop', ENV);
    rmSync(DATA_DIR, { recursive: true, force: true });
    await hapiControl('start', ENV);
    await hapiControl('stop', ENV);
    // HAPI filled the table with every type on its first start, and fills it again if it is empty: keep one row.
    execFileSync(
      'java',
      [
        '-cp',
        H2_JAR,
        'org.h2.tools.Shell',
        '-url',
        `jdbc:h2:file:${DATA_DIR}/h2/hapi`,
        '-user',
        'sa',
        '-password',
        '',
        '-sql',
        "DELETE FROM HFJ_RESOURCE_TYPE WHERE RES_TYPE <> 'Patient'",
      ],
      { stdio: 'inherit' },
    );
    await hapiControl('start', ENV);
  }, 2 * HAPI_BOOT_MS);

  afterAll(async () => {
    await hapiControl('stop', ENV);
  }, 60000);

  it('creates one resource of each of many types never written before, all at once, with no error', async () => {
    const tag = uniqueId('types');
    const { values, errors } = await settle(TYPES.map((type) => store.create(tagged(type, tag))));
    expect(errors.map(describeError)).toEqual([]);
    expect(values.every((v) => v.created)).toBe(true);
    for (const type of TYPES) expect([type, await countTagged(type, tag)]).toEqual([type, 1]);
  });

  it('commits concurrent transactions that each write several types, each exactly once', async () => {
    const tag = uniqueId('tx');
    const bundles: Bundle[] = TYPES.map((type, i) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [type, TYPES[(i + 1) % TYPES.length] as string].map((t) => ({
        resource: tagged(t, tag),
        request: { method: 'POST', url: t },
      })),
    }));
    const { errors } = await settle(bundles.map((b) => store.transaction(b)));
    expect(errors.map(describeError)).toEqual([]);
    for (const type of TYPES) expect([type, await countTagged(type, tag)]).toEqual([type, 2]);
  });

  it('answers every one of many concurrent identical conditional creates with the one resource they made', async () => {
    const system = 'https://example.org/test-race-key';
    const value = uniqueId('key');
    const body: Patient = { resourceType: 'Patient', identifier: [{ system, value }] };
    const { values, errors } = await settle(
      Array.from({ length: WRITERS }, () => store.create(body, { ifNoneExist: `identifier=${system}|${value}` })),
    );
    expect(errors.map(describeError)).toEqual([]);
    expect(values.filter((v) => v.created)).toHaveLength(1);
    expect(new Set(values.map((v) => v.resource.id)).size).toBe(1);
    const found = await store.search('Patient', { identifier: `${system}|${value}`, _summary: 'count' });
    expect(found.total).toBe(1);
  });

  it('writes a new client id sent by many writers at once, without error, as one resource', async () => {
    const id = uniqueId('pt');
    const { values, errors } = await settle(
      Array.from({ length: 10 }, (_, i) =>
        store.update<Patient & { id: string }>({ resourceType: 'Patient', id, birthDate: `19${10 + i}-01-01` }),
      ),
    );
    expect(errors.map(describeError)).toEqual([]);
    expect(values.filter((v) => v.created)).toHaveLength(1);
    const history = await store.history({ resourceType: 'Patient', id });
    expect(history.entry?.length).toBe(10);
  });

  it('lets one of many concurrent updates with the same If-Match win and reports the rest as version conflicts', async () => {
    const id = uniqueId('pt');
    await store.update<Patient & { id: string }>({ resourceType: 'Patient', id, birthDate: '1950-01-01' });
    const { values, errors } = await settle(
      Array.from({ length: 10 }, (_, i) =>
        store.update<Patient & { id: string }>(
          { resourceType: 'Patient', id, birthDate: `19${60 + i}-01-01` },
          { ifMatchVersion: '1' },
        ),
      ),
    );
    expect(values).toHaveLength(1);
    expect(errors).toHaveLength(9);
    for (const e of errors) expect([e instanceof AppError && e.options.reason]).toEqual(['version-conflict']);
    const now = await store.read<Patient>('Patient', id);
    expect(now.meta?.versionId).toBe('2');
  });
});
