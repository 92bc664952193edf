import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import type { PhbSummary } from '../domain/summary.js';
import type { SearchParams } from '../store/fhirStore.js';
import { CANONICAL_BASE, money, reference, SYSTEMS } from './common.js';
import type { ParameterSpec } from './parameters.js';

/**
 * The "my PHB" summary (OperationDefinition profiles/operations/phb-summary.json): the HAPI search
 * that fetches a person's whole PHB record in one round trip, and the Parameters resource that
 * carries what is computed from it (money, trends) at the head of the returned Bundle.
 */
export const OPERATION = 'phb-summary';
export const DEFINITION = `${CANONICAL_BASE}/OperationDefinition/phb-summary`;
/** Its in-parameters, as profiles/operations/phb-summary.json declares them: none (the patient is the instance). */
export const IN_PARAMETERS: readonly ParameterSpec[] = [];

/**
 * What each `_revinclude` brings in: everything the summary is built from, and the person's
 * Consents, from which a PHR app's access is checked (never returned), all in one search.
 */
export const SUMMARY_REVINCLUDES = [
  'EpisodeOfCare:patient',
  'CarePlan:subject',
  'Goal:subject',
  'Coverage:beneficiary',
  'ChargeItem:subject',
  'ServiceRequest:subject',
  'Observation:subject',
  'Consent:patient',
] as const;

/** `Patient?_id=<id>&_revinclude=...`: the person and their PHB records in one search. */
export function summarySearch(patientId: string): SearchParams {
  return { _id: patientId, _revinclude: [...SUMMARY_REVINCLUDES], _count: 1 };
}

const part = (name: string, value: Omit<ParametersParameter, 'name'>): ParametersParameter => ({ name, ...value });

/** The computed part of the summary; which parts appear depends on what the caller may read. */
export function summaryParameters(
  summary: PhbSummary,
  show: { plan: boolean; goals: boolean; money: boolean; requests: boolean; trends: boolean },
): Parameters {
  const parameter: ParametersParameter[] = [
    part('patient', { valueReference: reference('Patient', summary.budgetHolderId) }),
  ];
  if (summary.journey) {
    parameter.push(part('journey', { valueReference: reference('EpisodeOfCare', summary.journey.id) }));
    parameter.push(
      part('stage', { valueCoding: { system: SYSTEMS.codeSystem('journey-stage'), code: summary.journey.stage } }),
    );
  }
  if (show.plan && summary.plan)
    parameter.push(part('plan', { valueReference: reference('CarePlan', summary.plan.id) }));
  for (const goal of show.goals ? summary.goals : []) {
    parameter.push(
      part('goal', {
        part: [
          part('goal', { valueReference: reference('Goal', goal.id) }),
          part('lifecycleStatus', { valueCode: goal.lifecycle }),
          ...(goal.achievement !== undefined
            ? [part('achievementStatus', { valueCoding: { system: SYSTEMS.goalAchievement, code: goal.achievement } })]
            : []),
        ],
      }),
    );
  }
  if (show.money && summary.budget && summary.position) {
    const p = summary.position;
    parameter.push(
      part('budget', {
        part: [
          part('coverage', { valueReference: reference('Coverage', summary.budget.id) }),
          part('indicative', { valueMoney: money(p.indicative) }),
          ...(p.agreed !== undefined ? [part('agreed', { valueMoney: money(p.agreed) })] : []),
          part('paid', { valueMoney: money(p.paid) }),
          part('spent', { valueMoney: money(p.spent) }),
          part('remaining', { valueMoney: money(p.remaining) }),
        ],
      }),
    );
  }
  for (const request of show.requests ? summary.openRequests : []) {
    parameter.push(part('openRequest', { valueReference: reference('ServiceRequest', request.id) }));
  }
  if (show.trends) {
    for (const t of summary.trends) {
      parameter.push(
        part('score', {
          part: [
            part('questionnaire', { valueCanonical: t.questionnaire }),
            part('score', { valueString: t.score }),
            ...(t.journeyId !== undefined
              ? [part('journey', { valueReference: reference('EpisodeOfCare', t.journeyId) })]
              : []),
            part('latest', { valueDecimal: t.latest.value }),
            part('latestTime', { valueDateTime: t.latest.time }),
            part('observation', { valueReference: reference('Observation', t.latest.id) }),
            part('count', { valueInteger: t.count }),
            ...(t.change
              ? [
                  part('first', { valueDecimal: t.change.first }),
                  part('change', { valueDecimal: t.change.change }),
                  part('trend', { valueCode: t.change.trend }),
                ]
              : []),
          ],
        }),
      );
    }
  }
  return { resourceType: 'Parameters', parameter };
}
