import type {
  CarePlan,
  ChargeItem,
  Coverage,
  EpisodeOfCare,
  FhirResource,
  Goal,
  Observation,
  ServiceRequest,
} from 'fhir/r4.js';
import { currentAccess } from '../../auth/guard.js';
import { grantAndScope } from '../../auth/authorize.js';
import type { Caller } from '../../auth/caller.js';
import { resourceIdParam } from '../../auth/compartment.js';
import { summarise } from '../../domain/summary.js';
import { trendsBySeries, type QuestionnaireScore } from '../../domain/scores.js';
import { entriesOf, collection } from '../../fhir/bundle.js';
import * as carePlan from '../../fhir/careplan.js';
import * as chargeItem from '../../fhir/chargeItem.js';
import * as coverage from '../../fhir/coverage.js';
import * as episodeOfCare from '../../fhir/episodeOfCare.js';
import * as goal from '../../fhir/goal.js';
import * as observation from '../../fhir/observation.js';
import * as serviceRequest from '../../fhir/serviceRequest.js';
import { DEFINITION, IN_PARAMETERS, OPERATION, summaryParameters, summarySearch } from '../../fhir/summary.js';
import { checkQueryParameters } from '../../fhir/parameters.js';
import { patientOf } from '../../fhir/compartment.js';
import { log } from '../../log/logger.js';
import type { ProtectedRoute } from '../route.js';
import { baseUrl } from './http.js';
import { catalogOf } from '../questionnaires.js';
import { mappedOfType } from '../../fhir/mapped.js';

/**
 * `GET /fhir/Patient/{id}/$phb-summary`: the person's current PHB in one Bundle, from one HAPI
 * search. It needs the right to read the Patient; each kind of record in it is included only
 * when the caller's row and scopes allow reading that kind too (money needs Coverage, trends
 * need Observation).
 */

/** Resources of one type from the search, mapped; records our mappers cannot read are left out, not fatal. */
function mappedRecords<R extends FhirResource, T>(
  resources: FhirResource[],
  type: R['resourceType'],
  from: (r: R) => T,
): { resource: R; value: T }[] {
  return mappedOfType(resources, type, from, () =>
    log().debug('record left out of the summary', { resourceType: type }),
  );
}

function readable(caller: Caller, patientReach: string | undefined, type: string): boolean {
  const decision = grantAndScope(caller, type, 'search');
  return decision.allowed && decision.grant.reach === patientReach;
}

export const SUMMARY_ROUTE: ProtectedRoute = {
  face: 'fhir',
  method: 'get',
  path: `/Patient/:id/$${OPERATION}`,
  resource: 'Patient',
  interaction: 'read',
  operation: { name: OPERATION, definition: DEFINITION },
  patient: (req) => resourceIdParam(req.params.id),
  id: (req) => resourceIdParam(req.params.id),
  // A PHR app's consent comes with the summary's search (Consent:patient), so it costs no search of its own.
  consentInRecords: true,
  urlFor: (patientId) => `/fhir/Patient/${patientId}/$${OPERATION}`,
  handle: async (store, req, res) => {
    checkQueryParameters(OPERATION, req.query as Record<string, unknown>, IN_PARAMETERS);
    const { caller, patientId } = currentAccess();
    if (patientId === undefined) throw new Error('the guard allowed no patient');
    const patientGrant = grantAndScope(caller, 'Patient', 'read');
    const reach = patientGrant.allowed ? patientGrant.grant.reach : undefined;
    const may = (type: string): boolean => readable(caller, reach, type);

    const found = await store.search('Patient', summarySearch(patientId));
    const all = entriesOf(found).map((e) => e.resource);
    currentAccess().settleConsent(all);
    // Only this person's records, whatever the search returned; Consents served the access check only.
    const records = all.filter(
      (r) => r.resourceType !== 'Patient' && r.resourceType !== 'Consent' && patientOf(r) === patientId,
    );

    const journeys = mappedRecords<EpisodeOfCare, ReturnType<typeof episodeOfCare.fromFhir>>(
      records,
      'EpisodeOfCare',
      episodeOfCare.fromFhir,
    );
    const plans = mappedRecords<CarePlan, ReturnType<typeof carePlan.fromFhir>>(records, 'CarePlan', carePlan.fromFhir);
    const goals = mappedRecords<Goal, ReturnType<typeof goal.fromFhir>>(records, 'Goal', goal.fromFhir);
    const budgets = mappedRecords<Coverage, ReturnType<typeof coverage.fromFhir>>(
      records,
      'Coverage',
      coverage.fromFhir,
    );
    const ledger = mappedRecords<ChargeItem, ReturnType<typeof chargeItem.fromFhir>>(
      records,
      'ChargeItem',
      chargeItem.fromFhir,
    ).map((l) => l.value);
    const requests = mappedRecords<ServiceRequest, ReturnType<typeof serviceRequest.fromFhir>>(
      records,
      'ServiceRequest',
      serviceRequest.fromFhir,
    );
    const scores = mappedRecords<Observation, QuestionnaireScore>(
      records.filter((r) => r.resourceType === 'Observation' && observation.isScore(r)),
      'Observation',
      observation.fromFhir,
    );

    const rules = await catalogOf(store).rulesFor(scores.map((s) => s.value.questionnaire));
    const trends = trendsBySeries(
      scores.map((s) => s.value),
      (q, score) => rules.get(q)?.find((r) => r.score === score),
    );
    const summary = summarise({
      budgetHolderId: patientId,
      journeys: journeys.map((j) => j.value),
      plans: plans.map((p) => p.value),
      goals: goals.map((g) => g.value),
      budgets: budgets.map((b) => b.value),
      payments: ledger.flatMap((l) => (l.kind === 'payment' ? [l.payment] : [])),
      spend: ledger.flatMap((l) => (l.kind === 'spend' ? [l.line] : [])),
      requests: requests.map((r) => r.value),
      trends,
    });

    const pick = <R extends FhirResource>(list: { resource: R; value: { id: string } }[], ids: string[]): R[] =>
      ids.flatMap((id) => list.filter((x) => x.value.id === id).map((x) => x.resource));
    const out: FhirResource[] = [
      summaryParameters(summary, {
        plan: may('CarePlan'),
        goals: may('Goal'),
        money: may('Coverage'),
        requests: may('ServiceRequest'),
        trends: may('Observation'),
      }),
    ];
    if (summary.journey && may('EpisodeOfCare')) out.push(...pick(journeys, [summary.journey.id]));
    if (summary.plan && may('CarePlan')) out.push(...pick(plans, [summary.plan.id]));
    if (may('Goal'))
      out.push(
        ...pick(
          goals,
          summary.goals.map((g) => g.id),
        ),
      );
    if (summary.budget && may('Coverage')) out.push(...pick(budgets, [summary.budget.id]));
    if (may('ServiceRequest'))
      out.push(
        ...pick(
          requests,
          summary.openRequests.map((r) => r.id),
        ),
      );
    if (may('Observation'))
      out.push(
        ...pick(
          scores,
          summary.trends.map((t) => t.latest.id),
        ),
      );
    res.type('application/fhir+json').json(collection(baseUrl(req), out));
  },
};
