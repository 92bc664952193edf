import type { FhirResource, Patient } from 'fhir/r4.js';
import path from 'node:path';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';
import { repoRoot } from '../../src/config/config.js';
import * as episodeOfCare from '../../src/fhir/episodeOfCare.js';
import * as patient from '../../src/fhir/patient.js';
import { testStore } from '../support/hapi.js';
import { mappingCases } from '../support/recordCases.js';
import { must, recordFixtures } from '../support/recordFixtures.js';
import { describeIssues, validationErrors } from '../support/validation.js';

const store = testStore(60000);

/** The profile each resource kind is checked against; base R4 where we have none. */
const PROFILES: Partial<Record<FhirResource['resourceType'], string>> = {
  Patient: patient.PROFILE,
  EpisodeOfCare: episodeOfCare.PROFILE,
};

describe('people-and-records resources against HAPI $validate', () => {
  beforeAll(async () => {
    await loadConformance(store, await readConformanceFiles(path.join(repoRoot, 'profiles')));
  });

  const resources = mappingCases().flatMap((c) =>
    c.fixtures.flatMap((f) => c.toFhir(f.value).map((r) => [`${c.table} ${f.label} ${r.resourceType}`, r] as const)),
  );

  it.each(resources)('%s validates with no errors', async (_label, resource) => {
    const outcome = await store.validate(resource, PROFILES[resource.resourceType]);
    expect(describeIssues(validationErrors(outcome))).toEqual([]);
  });

  describe('deliberately broken resources fail with the expected message', () => {
    const f = recordFixtures();
    const good = patient.toFhir(must(f.holders[0]));

    async function expectError(resource: FhirResource, profile: string, message: RegExp): Promise<void> {
      const found = describeIssues(validationErrors(await store.validate(resource, profile)));
      expect(found.some((m) => message.test(m))).toBe(true);
    }

    it('a PHB Patient whose NHS number identifier has no value', async () => {
      const broken: Patient = { ...good, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number' }] };
      await expectError(broken, patient.PROFILE, /Patient\.identifier:nhsNumber\.value.*minimum required = 1/);
    });

    it('a PHB Patient without any NHS number', async () => {
      await expectError(
        { ...good, identifier: [] },
        patient.PROFILE,
        /Patient\.identifier(:nhsNumber)?.*minimum required = 1/,
      );
    });

    it('a PHB Patient whose NHS number is not 10 digits', async () => {
      const broken: Patient = {
        ...good,
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '999 007 9196' }],
      };
      await expectError(broken, patient.PROFILE, /phb-nhs-1/);
    });

    it('a PHB EpisodeOfCare without its journey stage or cohort', async () => {
      const e = episodeOfCare.toFhir(must(f.journeys[0]));
      const noStage = { ...e, extension: must(e.extension).filter((x) => !x.url.endsWith('/phb-journey-stage')) };
      await expectError(
        noStage,
        episodeOfCare.PROFILE,
        /EpisodeOfCare\.extension:stage.*(a matching slice is required|minimum required = 1)/,
      );
      await expectError({ ...e, type: [must(e.type?.[0])] }, episodeOfCare.PROFILE, /phb-eoc-2|minimum required = 2/);
    });

    it('a journey stage code that is not in the journey-stage CodeSystem', async () => {
      const e = episodeOfCare.toFhir(must(f.journeys[0]));
      const wrong = {
        ...e,
        extension: must(e.extension).map((x) =>
          x.url.endsWith('/phb-journey-stage') ? { ...x, valueCoding: { ...x.valueCoding, code: 'dreaming' } } : x,
        ),
      };
      await expectError(wrong, episodeOfCare.PROFILE, /dreaming/);
    });

    it('eligibility without the right-to-have flag', async () => {
      const e = episodeOfCare.toFhir(must(f.journeys[0]));
      const wrong = {
        ...e,
        extension: must(e.extension).map((x) =>
          x.url.endsWith('/phb-eligibility')
            ? { ...x, extension: must(x.extension).filter((p) => p.url !== 'rightToHave') }
            : x,
        ),
      };
      await expectError(wrong, episodeOfCare.PROFILE, /rightToHave/);
    });
  });
});
