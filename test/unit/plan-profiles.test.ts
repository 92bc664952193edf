import path from 'node:path';
import type { CodeSystem, Questionnaire, QuestionnaireItem, StructureDefinition, ValueSet } from 'fhir/r4.js';
import { repoRoot } from '../../src/config/config.js';
import { readConformanceFiles, type ConformanceFile } from '../../src/conformance/files.js';
import {
  CALCULATION_LINE_KINDS,
  COHORTS,
  DECISION_OUTCOMES,
  IMPACT_ITEMS,
  JOURNEY_STAGES,
  MANAGEMENT_OPTIONS,
  NATIONAL_RESTRICTIONS,
  PHB_KINDS,
  PHB_TASK_TYPES,
  PLAN_ITEM_STATUSES,
  QUESTIONNAIRE_AMENDABLE_BY,
  QUESTIONNAIRE_NOTIFICATION_FLAGS,
  RESTRICTION_LABELS,
  REVIEW_POINTS,
  SIGN_OFF_ROLES,
  SPEND_CATEGORIES,
  SPEND_REQUEST_STATUSES,
  STAFF_ROLES,
} from '../../src/domain/codes.js';
import { CANONICAL_BASE } from '../../src/fhir/common.js';

/** Each CodeSystem in profiles/ and the list in src/domain/codes.ts it must match, code for code. */
const CODE_LISTS: Record<string, readonly string[]> = {
  'phb-kind': PHB_KINDS,
  'phb-cohort': COHORTS,
  'management-option': MANAGEMENT_OPTIONS,
  'spend-category': SPEND_CATEGORIES,
  'national-restriction': NATIONAL_RESTRICTIONS,
  'staff-role': STAFF_ROLES,
  'review-point': REVIEW_POINTS,
  'journey-stage': JOURNEY_STAGES,
  'plan-item-status': PLAN_ITEM_STATUSES,
  'spend-request-status': SPEND_REQUEST_STATUSES,
  'sign-off-outcome': DECISION_OUTCOMES,
  'phb-task-type': PHB_TASK_TYPES,
  'questionnaire-notification-flag': QUESTIONNAIRE_NOTIFICATION_FLAGS,
  'questionnaire-amendable-by': QUESTIONNAIRE_AMENDABLE_BY,
  'calculation-line-kind': CALCULATION_LINE_KINDS,
};

let files: ConformanceFile[];
beforeAll(async () => {
  files = await readConformanceFiles(path.join(repoRoot, 'profiles'));
});

function find<T>(resourceType: string, id: string): T {
  const file = files.find((f) => f.resource.resourceType === resourceType && f.resource.id === id);
  if (!file) throw new Error(`profiles/ has no ${resourceType}/${id}`);
  return file.resource as unknown as T;
}

describe('code systems match the domain vocabulary', () => {
  it.each(Object.entries(CODE_LISTS))(
    'CodeSystem %s holds the same codes in the same order, each with display and definition',
    (id, codes) => {
      const cs = find<CodeSystem>('CodeSystem', id);
      expect(cs.url).toBe(`${CANONICAL_BASE}/CodeSystem/${id}`);
      expect(cs.content).toBe('complete');
      expect((cs.concept ?? []).map((c) => c.code)).toEqual([...codes]);
      for (const c of cs.concept ?? []) {
        expect(c.display).toBeTruthy();
        expect(c.definition).toBeTruthy();
      }
    },
  );

  it.each(Object.keys(CODE_LISTS))('ValueSet %s includes the whole code system', (id) => {
    const vs = find<ValueSet>('ValueSet', id);
    expect(vs.url).toBe(`${CANONICAL_BASE}/ValueSet/${id}`);
    expect(vs.compose?.include).toEqual([{ system: `${CANONICAL_BASE}/CodeSystem/${id}` }]);
  });

  it('sign-off-role is exactly the sign-off roles from staff-role', () => {
    const vs = find<ValueSet>('ValueSet', 'sign-off-role');
    const [include, ...rest] = vs.compose?.include ?? [];
    expect(rest).toEqual([]);
    expect(include?.system).toBe(`${CANONICAL_BASE}/CodeSystem/staff-role`);
    expect(include?.concept?.map((c) => c.code)).toEqual([...SIGN_OFF_ROLES]);
  });

  it('national restriction displays read as the domain labels', () => {
    const cs = find<CodeSystem>('CodeSystem', 'national-restriction');
    for (const c of cs.concept ?? []) {
      expect(c.display?.toLowerCase()).toBe(
        RESTRICTION_LABELS[c.code as keyof typeof RESTRICTION_LABELS].toLowerCase(),
      );
    }
  });
});

describe('conformance resources follow the conventions', () => {
  it('every canonical URL is <base>/<resourceType>/<id>, version 0.1.0, active', () => {
    const wrong = files
      .filter(
        ({ resource: r }) =>
          r.url !== `${CANONICAL_BASE}/${r.resourceType}/${r.id}` ||
          r.version !== '0.1.0' ||
          (r as { status?: string }).status !== 'active',
      )
      .map((f) => f.file);
    expect(wrong).toEqual([]);
  });

  it('profiles and extensions are differential-only constraints on R4', () => {
    const defs = files
      .map((f) => f.resource)
      .filter((r): r is StructureDefinition & { id: string } => r.resourceType === 'StructureDefinition');
    expect(defs.length).toBeGreaterThan(0);
    for (const sd of defs) {
      expect(sd.derivation).toBe('constraint');
      expect(sd.snapshot).toBeUndefined();
      expect(sd.fhirVersion).toBe('4.0.1');
      for (const element of sd.differential?.element ?? [])
        expect(element.id?.replace(/:[^.]+/g, '')).toBe(element.path);
    }
  });

  it('every extension and value set a profile names is defined here', () => {
    const urls = new Set(files.map((f) => f.resource.url));
    const named =
      JSON.stringify(files.map((f) => f.resource)).match(
        /https:\/\/phb\.fhir\.example\.org\/(StructureDefinition|ValueSet|CodeSystem)\/[A-Za-z0-9\-.]+/g,
      ) ?? [];
    expect([...new Set(named)].filter((u) => !urls.has(u))).toEqual([]);
  });
});

describe('questionnaires', () => {
  const linkIds = (items: QuestionnaireItem[] | undefined): string[] =>
    (items ?? []).flatMap((i) => [i.linkId, ...linkIds(i.item)]);

  it('the impact questionnaire has the four items, each a required whole number 1 to 5, and its scoring rule', () => {
    const q = find<Questionnaire>('Questionnaire', 'phb-impact');
    expect(q.item?.map((i) => i.linkId)).toEqual([...IMPACT_ITEMS]);
    for (const item of q.item ?? []) {
      expect(item).toMatchObject({ type: 'integer', required: true });
      expect(item.extension?.map((e) => e.valueInteger)).toEqual([1, 5]);
    }
    const scoring = q.extension?.find(
      (e) => e.url === `${CANONICAL_BASE}/StructureDefinition/phb-questionnaire-scoring`,
    );
    const parts = (name: string): unknown[] =>
      (scoring?.extension ?? [])
        .filter((e) => e.url === name)
        .map((e) => e.valueString ?? e.valueCode ?? e.valueDecimal ?? e.valueBoolean);
    expect(parts('method')).toEqual(['sum']);
    expect(parts('item')).toEqual([...IMPACT_ITEMS]);
    expect(parts('meaningfulChange')).toEqual([2]);
  });

  it('the review questionnaire asks the first-person questions, goal progress and the impact questions', () => {
    const q = find<Questionnaire>('Questionnaire', 'phb-review');
    expect(linkIds(q.item)).toEqual([
      'review-point',
      'what-is-working',
      'my-strengths',
      'my-worries',
      'what-needs-to-change',
      'goals-by-next-review',
      'recovery-destination',
      'goal-progress',
      'goal',
      'achievement',
      'impact',
      ...IMPACT_ITEMS,
    ]);
  });

  it('the needs conversation asks what matters to me, strengths (repeating), circumstances and unpaid carers (repeating)', () => {
    const q = find<Questionnaire>('Questionnaire', 'phb-needs');
    expect(q.item?.map((i) => [i.linkId, i.repeats ?? false])).toEqual([
      ['what-matters-to-me', false],
      ['strengths', true],
      ['circumstances', false],
      ['unpaid-carers', true],
    ]);
    const carers = q.item?.find((i) => i.linkId === 'unpaid-carers');
    expect(carers?.item?.map((i) => [i.linkId, i.type, i.required ?? false])).toEqual([
      ['carer-relationship', 'string', true],
      ['carer-assessment-offered', 'boolean', true],
      ['carer-offered-on', 'date', false],
      ['carer-assessment-outcome', 'choice', false],
      ['carer-not-offered-reason', 'text', false],
    ]);
  });
});
