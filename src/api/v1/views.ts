import type { Budget, CarePlanPcsp, PhbJourney, RecoveryGoal, Review, SpendRequest } from '../../domain/model.js';
import { scoreTrend, computeScore, type ScoreChange } from '../../domain/scores.js';
import { inHours, turnaround } from '../../domain/signoff/turnaround.js';
import { catalogOf } from '../questionnaires.js';
import { QUESTIONNAIRES } from '../../fhir/questionnaireResponse.js';
import type { FhirStore } from '../../store/fhirStore.js';
import type { Versioned } from './records.js';

/** Domain objects as the API shows them: each with the version to send back as If-Match. */

export function journeyView(j: Versioned<PhbJourney>): Record<string, unknown> {
  return { ...j.value, version: j.version };
}

export function budgetView(b: Versioned<Budget>): Record<string, unknown> {
  return { ...b.value, version: b.version };
}

export function planView(p: Versioned<CarePlanPcsp>): Record<string, unknown> {
  return { ...p.value, version: p.version };
}

export function goalView(g: Versioned<RecoveryGoal>): Record<string, unknown> {
  return { ...g.value, version: g.version };
}

/** A request with its turnaround (request -> decision -> payment) in hours. */
export function requestView(r: Versioned<SpendRequest>): Record<string, unknown> {
  const t = turnaround(r.value);
  return {
    ...r.value,
    turnaround: {
      submitted: t.submitted,
      ...(t.decided !== undefined ? { decided: t.decided } : {}),
      ...(t.paid !== undefined ? { paid: t.paid } : {}),
      ...(t.requestToDecisionMs !== undefined ? { requestToDecisionHours: inHours(t.requestToDecisionMs) } : {}),
      ...(t.decisionToPaymentMs !== undefined ? { decisionToPaymentHours: inHours(t.decisionToPaymentMs) } : {}),
      ...(t.requestToPaymentMs !== undefined ? { requestToPaymentHours: inHours(t.requestToPaymentMs) } : {}),
      appeals: t.appeals,
    },
    version: r.version,
  };
}

/**
 * Impact over the reviews so far: each score the review questionnaire defines, first to latest,
 * judged against the questionnaire's own threshold. Without the questionnaire's scoring rules
 * (or fewer than two scored reviews) there is nothing to say.
 */
export async function impactOf(
  store: FhirStore,
  reviews: readonly Review[],
): Promise<{ scores: ScoreChange[] } | undefined> {
  const scored = reviews.filter((r) => r.impact !== undefined);
  if (scored.length < 2) return undefined;
  const rules = (await catalogOf(store).rulesFor([QUESTIONNAIRES.review])).get(QUESTIONNAIRES.review) ?? [];
  if (rules.length === 0) return undefined;
  const ordered = [...scored].sort((a, b) => a.completed.localeCompare(b.completed));
  const scores = rules.flatMap((rule) => {
    const first = computeScore(rule, ordered[0]?.impact ?? {});
    const latest = computeScore(rule, ordered[ordered.length - 1]?.impact ?? {});
    return first === undefined || latest === undefined ? [] : [scoreTrend(rule, first, latest)];
  });
  return { scores };
}
