import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Composition, FhirResource, Questionnaire } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { readConformanceFiles } from '../../src/conformance/files.js';
import { loadConformance } from '../../src/conformance/loader.js';
import { numericAnswers, scoringRules } from '../../src/fhir/questionnaire.js';
import { computeScore, trendOver } from '../../src/domain/scores.js';
import { dischargeDocument, SECTIONS, PHB_SECTION } from '../../src/fhir/discharge.js';
import * as answers from '../../src/fhir/questionnaireResponse.js';
import { dischargeContentFor } from '../support/dischargeContent.js';
import { testStore } from '../support/hapi.js';
import { loadScenarios } from '../support/scenarios.js';
import { scenarioDomain } from '../support/scenarioDomain.js';
import { validationErrors } from '../support/validation.js';

const store = testStore(60000);
const scenarios = loadScenarios().filter((s) => s.id === 's117-aftercare-notional' || s.id === 'ch-laptop-gcse');
const review = JSON.parse(
  readFileSync(path.join(repoRoot, 'profiles', 'questionnaires', 'phb-review.json'), 'utf8'),
) as Questionnaire;

function documentFor(id: string): Bundle {
  const s = scenarios.find((x) => x.id === id);
  if (!s) throw new Error(id);
  const content = dischargeContentFor(s);
  const [rule] = scoringRules(review);
  if (rule) {
    const series = scenarioDomain(s)
      .reviews.filter((r) => r.impact)
      .map((r) => ({ time: r.completed, value: computeScore(rule, numericAnswers(answers.toFhir(r))) ?? 0 }));
    const change = trendOver(rule, series);
    const latest = series[series.length - 1];
    if (change && latest)
      content.scores = [{ questionnaire: review.title ?? 'PHB review', measured: latest.time, change }];
  }
  return dischargeDocument(content);
}

describe('discharge document', () => {
  beforeAll(async () => {
    await loadConformance(store, await readConformanceFiles(path.join(repoRoot, 'profiles')));
  });

  it.each(scenarios.map((s) => [s.id]))(
    '%s: Composition first, required sections, every reference inside, valid document',
    async (id) => {
      const bundle = documentFor(id);
      const [first, ...rest] = bundle.entry ?? [];
      const composition = first?.resource as Composition;
      expect(composition.resourceType).toBe('Composition');
      const codes = (composition.section ?? []).map((s) => s.code?.coding?.[0]?.code);
      for (const heading of Object.values(SECTIONS)) expect(codes).toContain(heading.code);
      expect(codes).toContain(PHB_SECTION.code);
      for (const s of composition.section ?? [])
        expect(s.text?.div).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">.+<\/div>$/);

      const urls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
      const refs = JSON.stringify(bundle).match(/"reference":"[^"]+"/g) ?? [];
      expect(refs.length).toBeGreaterThan(10);
      for (const r of refs) expect(urls.has(r.slice(13, -1))).toBe(true);
      expect(rest.map((e) => e.resource?.resourceType)).toEqual(
        expect.arrayContaining(['Patient', 'Organization', 'PractitionerRole', 'CarePlan', 'Coverage', 'Goal']),
      );

      const outcome = await store.validate(bundle as FhirResource);
      const errors = validationErrors(outcome);
      expect(errors).toEqual([]);
    },
  );

  it('is refused by HAPI when an entry it refers to is missing', async () => {
    const bundle = documentFor('ch-laptop-gcse');
    const broken = { ...bundle, entry: (bundle.entry ?? []).filter((e) => e.resource?.resourceType !== 'Patient') };
    const outcome = await store.validate(broken as FhirResource);
    const errors = validationErrors(outcome);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('has every section that mappings/discharge-document.md lists', async () => {
    const table = readFileSync(path.join(repoRoot, 'mappings', 'discharge-document.md'), 'utf8');
    const listed = [...table.matchAll(/code\.coding\.code='([^']+)'/g)].map((m) => m[1]);
    const composition = documentFor('ch-laptop-gcse').entry?.[0]?.resource as Composition;
    const present = (composition.section ?? []).map((s) => s.code?.coding?.[0]?.code);
    expect(listed.length).toBeGreaterThanOrEqual(10);
    for (const code of listed) expect(present).toContain(code);
  });

  it('is the same document when built again from the same record', () => {
    expect(JSON.stringify(documentFor('ch-laptop-gcse'))).toBe(JSON.stringify(documentFor('ch-laptop-gcse')));
  });

  it('keeps an example for readers (test/fixtures/discharge-document-ch-laptop-gcse.json)', () => {
    const file = path.join(repoRoot, 'test', 'fixtures', 'discharge-document-ch-laptop-gcse.json');
    const current = `${JSON.stringify(documentFor('ch-laptop-gcse'), null, 2)}\n`;
    // UPDATE_FIXTURES rewrites the example and checks nothing: never set it in CI.
    if (process.env.UPDATE_FIXTURES) {
      writeFileSync(file, current);
      return;
    }
    expect(readFileSync(file, 'utf8')).toBe(current);
  });
});
