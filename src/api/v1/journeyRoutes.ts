import type {
  Consent as FhirConsent,
  EpisodeOfCare,
  Organization as FhirOrganization,
  Patient,
  PractitionerRole,
  QuestionnaireResponse,
} from 'fhir/r4.js';
import { currentAccess } from '../../auth/guard.js';
import type { ClosureReason, Cohort, PhbKind } from '../../domain/codes.js';
import { identifyCarers } from '../../domain/carers.js';
import { DomainError } from '../../domain/errors.js';
import {
  advance,
  closeJourney,
  decideEligibility,
  refer,
  requireReached,
  type EligibilityDecision,
} from '../../domain/journey.js';
import type { BudgetHolder, NeedsAssessment, Organisation, PhrConsent, UnpaidCarer } from '../../domain/model.js';
import { parseNhsNumber } from '../../domain/nhsNumber.js';
import * as careplan from '../../fhir/careplan.js';
import * as careTeam from '../../fhir/careTeam.js';
import { SYSTEMS } from '../../fhir/common.js';
import * as consent from '../../fhir/consent.js';
import * as episodeOfCare from '../../fhir/episodeOfCare.js';
import * as organization from '../../fhir/organization.js';
import * as patient from '../../fhir/patient.js';
import * as questionnaireResponse from '../../fhir/questionnaireResponse.js';
import { forbidden } from '../../outcome/errors.js';
import { createKeyed, idOf, staffCaller } from './common.js';
import type { ApiRoute, Ctx, ReadRoute, WriteRoute } from './http.js';
import { expectVersion } from './http.js';
import { JourneyRecords, practitionerOf } from './records.js';
import { Tx, newId } from '../tx.js';
import { budgetView, goalView, impactOf, journeyView, planView, requestView } from './views.js';

/** Steps 1, 2 and 6 of the journey: referral and eligibility, the needs conversation, closure; and reading a journey. */

export const JOURNEY = '/v1/budget-holders/:holderId/journeys/:journeyId';

export function records(ctx: Ctx): JourneyRecords {
  return new JourneyRecords(ctx.store, ctx.holderId);
}

async function presentJourney(
  ctx: Ctx,
  ref: string,
  status: number,
): Promise<{ status: number; body: unknown; version: string }> {
  const episode = await ctx.store.read<EpisodeOfCare>('EpisodeOfCare', idOf(ref, 'EpisodeOfCare'));
  const version = episode.meta?.versionId ?? '';
  return { status, body: journeyView({ value: episodeOfCare.fromFhir(episode), version }), version };
}

interface ReferralBody {
  person: { nhsNumber: string; name: string; birthDate: string; ethnicity?: string; gpPracticeOds?: string };
  kind: PhbKind;
  cohort: Cohort;
  start: string;
  careTeam?: string[];
}

const referral: WriteRoute<ReferralBody> = {
  method: 'post',
  scope: 'service',
  path: '/v1/referrals',
  resource: 'EpisodeOfCare',
  interaction: 'create',
  tag: '1 Contact and information',
  summary:
    'Refer a person for a PHB: records the person (by NHS number), the journey with its lead contact, and the care team',
  request: 'ReferralInput',
  response: 'Journey',
  status: 201,
  activity: 'CREATE',
  example: {
    person: { nhsNumber: '9990079196', name: 'Ade Okafor', birthDate: '1984-03-12' },
    kind: 'one-off',
    cohort: 'mental-health-recovery',
    start: '2026-01-05',
  },
  async write(ctx, body) {
    const caller = staffCaller(ctx.caller);
    const nhsNumber = parseNhsNumber(body.person.nhsNumber, '/person/nhsNumber');
    const tx = new Tx();
    const nhsQuery = `identifier=${encodeURIComponent(`${SYSTEMS.nhsNumber}|${nhsNumber}`)}`;
    const known = await ctx.store.search<Patient>('Patient', {
      identifier: `${SYSTEMS.nhsNumber}|${nhsNumber}`,
      _count: 2,
    });
    const existing = known.entry?.[0]?.resource;
    let holderId: string;
    if (existing?.id) {
      // Someone already known: only their own care team may start another journey for them.
      const decision = await currentAccess().decide('EpisodeOfCare', 'create', existing.id);
      if (!decision.allowed)
        throw forbidden(
          'This person is already known to the service and is not on your team: ask their care team to refer them',
        );
      holderId = existing.id;
    } else {
      const holder: BudgetHolder = {
        id: newId(),
        nhsNumber,
        name: body.person.name,
        birthDate: body.person.birthDate,
        ...(body.person.ethnicity !== undefined ? { ethnicity: body.person.ethnicity } : {}),
        ...(body.person.gpPracticeOds !== undefined ? { gpPracticeOds: body.person.gpPracticeOds } : {}),
      };
      tx.create(patient.toFhir(holder), nhsQuery);
      holderId = holder.id;
    }
    // The organisation whose policy applies manages (and pays for) the journey: found by its ODS code, or recorded now.
    const org = ctx.deps.policy.organisation;
    const icb: Organisation = {
      id: newId(),
      name: org.name,
      kind: 'icb',
      ...(org.odsCode !== undefined ? { odsCode: org.odsCode } : {}),
    };
    const icbSearch: Record<string, string> =
      org.odsCode !== undefined ? { identifier: `${SYSTEMS.odsOrganisation}|${org.odsCode}` } : { name: org.name };
    const knownIcb = (await ctx.store.search<FhirOrganization>('Organization', { ...icbSearch, _count: 1 })).entry?.[0]
      ?.resource;
    if (knownIcb?.id) icb.id = knownIcb.id;
    else tx.create(organization.toFhir(icb));

    const members = [...new Set([caller.practitionerRoleId, ...(body.careTeam ?? [])])];
    await Promise.all(
      (body.careTeam ?? []).map(async (id, i) => {
        const role = await ctx.store.readIfExists<PractitionerRole>('PractitionerRole', id);
        if (!role) throw new DomainError(`/careTeam/${i}`, `/careTeam/${i}: no such staff role (PractitionerRole)`);
        if (role.active === false)
          throw new DomainError(`/careTeam/${i}`, `/careTeam/${i}: that staff role is no longer active`);
      }),
    );
    const journey = refer({
      id: newId(),
      budgetHolderId: holderId,
      kind: body.kind,
      cohort: body.cohort,
      start: body.start,
      leadContactId: await practitionerOf(ctx.store, caller.practitionerRoleId),
      managingOrganisationId: icb.id,
    });
    const primary = createKeyed(tx, ctx, episodeOfCare.toFhir(journey));
    tx.create(careTeam.toFhir({ id: newId(), budgetHolderId: holderId, memberIds: members, active: true }));
    return { tx, primary };
  },
  present: (ctx, ref) => presentJourney(ctx, ref, 201),
};

const listJourneys: ReadRoute = {
  method: 'get',
  path: '/v1/budget-holders/:holderId/journeys',
  resource: 'EpisodeOfCare',
  interaction: 'search',
  tag: '1 Contact and information',
  summary: "The person's PHB journeys",
  response: 'JourneyList',
  async run(ctx) {
    return { status: 200, body: { journeys: (await records(ctx).journeys()).map(journeyView) } };
  },
};

const readJourney: ReadRoute = {
  method: 'get',
  path: JOURNEY,
  resource: 'EpisodeOfCare',
  interaction: 'read',
  tag: '1 Contact and information',
  summary:
    'One PHB journey with everything recorded in it: budget, plan, goals, requests with turnaround, money, reviews and impact',
  response: 'JourneySummary',
  async run(ctx) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    const impact = await impactOf(ctx.store, set.reviews);
    return {
      status: 200,
      version: set.journey.version,
      body: {
        journey: journeyView(set.journey),
        ...(set.budget ? { budget: budgetView(set.budget) } : {}),
        ...(set.plan ? { plan: planView(set.plan) } : {}),
        goals: set.goals.map(goalView),
        ...(set.needs ? { needs: set.needs } : {}),
        requests: set.requests.map(requestView),
        payments: set.payments,
        spend: set.spend.map((s) => ({ ...s.value, version: s.version })),
        reviews: set.reviews,
        ...(set.agreement ? { agreement: set.agreement } : {}),
        ...(impact ? { impact } : {}),
      },
    };
  },
};

const eligibility: WriteRoute<EligibilityDecision> = {
  method: 'post',
  path: `${JOURNEY}/eligibility`,
  resource: 'EpisodeOfCare',
  interaction: 'update',
  tag: '1 Contact and information',
  summary: 'Decide eligibility (a legal right to have, or the local offer); a person found not eligible is told why',
  request: 'EligibilityInput',
  response: 'Journey',
  status: 200,
  activity: 'UPDATE',
  ifMatch: 'the journey',
  example: { eligible: true, decidedOn: '2026-01-06' },
  async write(ctx, body) {
    const journey = await records(ctx).journey(ctx.param('journeyId'));
    const version = expectVersion(ctx, journey.version);
    const tx = new Tx();
    const primary = tx.update(
      episodeOfCare.toFhir(decideEligibility(journey.value, body)) as EpisodeOfCare & { id: string },
      version,
    );
    return { tx, primary };
  },
  present: (ctx, ref) => presentJourney(ctx, ref, 200),
};

interface NeedsBody {
  whatMattersToMe: string;
  strengths?: string[];
  circumstances?: string;
  carers?: UnpaidCarer[];
  completed?: string;
}

const needs: WriteRoute<NeedsBody> = {
  method: 'post',
  path: `${JOURNEY}/needs`,
  resource: 'QuestionnaireResponse',
  interaction: 'create',
  tag: '2 Understanding needs',
  summary:
    'Record the needs conversation: what matters to the person, their strengths and circumstances, and the unpaid carers offered an assessment',
  request: 'NeedsInput',
  response: 'Needs',
  status: 201,
  activity: 'CREATE',
  example: { whatMattersToMe: 'Finishing my GCSEs and earning my own money again.' },
  async write(ctx, body) {
    const journey = await records(ctx).journey(ctx.param('journeyId'));
    requireReached(journey.value, 'eligible', 'a needs conversation');
    const completed = body.completed ?? ctx.now;
    const carers = identifyCarers(body.carers ?? [], completed.slice(0, 10));
    const answers: NeedsAssessment = {
      id: newId(),
      journeyId: journey.value.id,
      budgetHolderId: ctx.holderId,
      whatMattersToMe: body.whatMattersToMe,
      strengths: body.strengths ?? [],
      completed,
      ...(body.circumstances !== undefined ? { circumstances: body.circumstances } : {}),
      ...(carers.length > 0 ? { carers } : {}),
    };
    const tx = new Tx();
    const primary = createKeyed(tx, ctx, questionnaireResponse.needsToFhir(answers));
    const moved = advance(journey.value, 'needs-assessed');
    if (moved !== journey.value)
      tx.update(episodeOfCare.toFhir(moved) as EpisodeOfCare & { id: string }, journey.version);
    return { tx, primary };
  },
  async present(ctx, ref) {
    const response = await ctx.store.read<QuestionnaireResponse>(
      'QuestionnaireResponse',
      idOf(ref, 'QuestionnaireResponse'),
    );
    return {
      status: 201,
      body: questionnaireResponse.needsFromFhir(response),
      version: response.meta?.versionId ?? '',
    };
  },
};

const closure: WriteRoute<{ reason: ClosureReason; end: string }> = {
  method: 'post',
  path: `${JOURNEY}/closure`,
  resource: 'EpisodeOfCare',
  interaction: 'update',
  tag: '6 Monitoring and review',
  summary: 'Close the journey, e.g. on discharge to primary care; an agreed plan is completed with it',
  request: 'ClosureInput',
  response: 'Journey',
  status: 200,
  activity: 'UPDATE',
  ifMatch: 'the journey',
  example: { reason: 'discharged-to-primary-care', end: '2026-12-01' },
  async write(ctx, body) {
    const set = await records(ctx).all(ctx.param('journeyId'));
    const version = expectVersion(ctx, set.journey.version);
    const tx = new Tx();
    const primary = tx.update(
      episodeOfCare.toFhir(closeJourney(set.journey.value, body.reason, body.end)) as EpisodeOfCare & { id: string },
      version,
    );
    if (set.plan?.value.status === 'active')
      tx.update(careplan.toFhir({ ...set.plan.value, status: 'completed' }), set.plan.version);
    return { tx, primary };
  },
  present: (ctx, ref) => presentJourney(ctx, ref, 200),
};

const consentRoute: WriteRoute<{ recipient: string; status: PhrConsent['status']; dateTime?: string }> = {
  method: 'post',
  path: '/v1/budget-holders/:holderId/consents',
  resource: 'Consent',
  interaction: 'create',
  tag: '6 Monitoring and review',
  summary: "Record the person's decision about sharing their PHB with a personal health record app",
  request: 'ConsentInput',
  response: 'Consent',
  status: 201,
  activity: 'CREATE',
  example: { recipient: 'patient-knows-best', status: 'active' },
  async write(ctx, body) {
    const tx = new Tx();
    const record: PhrConsent = {
      id: newId(),
      budgetHolderId: ctx.holderId,
      recipient: body.recipient,
      status: body.status,
      dateTime: body.dateTime ?? ctx.now,
    };
    return { tx, primary: createKeyed(tx, ctx, consent.toFhir(record)) };
  },
  async present(ctx, ref) {
    const stored = await ctx.store.read<FhirConsent>('Consent', idOf(ref, 'Consent'));
    return { status: 201, body: consent.fromFhir(stored), version: stored.meta?.versionId ?? '' };
  },
};

export const JOURNEY_ROUTES: ApiRoute[] = [
  referral as WriteRoute<never>,
  listJourneys,
  readJourney,
  eligibility as WriteRoute<never>,
  needs as WriteRoute<never>,
  closure as WriteRoute<never>,
  consentRoute as WriteRoute<never>,
];
