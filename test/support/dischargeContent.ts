import type { DischargeContent } from '../../src/fhir/discharge.js';
import { budgetPosition } from '../../src/domain/budget.js';
import type { Scenario } from './scenarios.js';
import { scenarioDomain } from './scenarioDomain.js';

/** A closed journey from a scenario, as the discharge operation would gather it. */
export function dischargeContentFor(s: Scenario, idPrefix = ''): DischargeContent {
  const d = scenarioDomain(s);
  const p = (id: string): string => `${idPrefix}${id}`;
  const approved = (s.requests ?? []).filter((r) => !r.expectRefused);
  const last = d.reviews[d.reviews.length - 1];
  const goals = d.goals.map((g) => ({
    ...g,
    id: p(g.id),
    budgetHolderId: p(g.budgetHolderId),
    ...(last?.goalProgress[g.id] ? { achievement: last.goalProgress[g.id] } : {}),
  }));
  return {
    issued: '2026-06-30T12:00:00+01:00',
    holder: { ...d.holder, id: p(d.holder.id), gpPracticeOds: 'Y00001' },
    gpPractice: { id: p(`${s.id}-gp`), name: 'Riverside Medical Practice', odsCode: 'Y00001', kind: 'gp-practice' },
    author: { ...d.coordinator, id: p(d.coordinator.id) },
    authorContact: 'recovery team duty line 020 7946 0000',
    payor: { ...d.icb, id: p(d.icb.id) },
    journey: {
      ...d.journey,
      id: p(d.journey.id),
      budgetHolderId: p(d.holder.id),
      leadContactId: p(d.coordinator.id),
      managingOrganisationId: p(d.icb.id),
      stage: 'closed',
      end: '2026-06-30',
      closureReason: 'discharged-to-primary-care',
    },
    budget: {
      ...d.budget,
      id: p(d.budget.id),
      journeyId: p(d.journey.id),
      budgetHolderId: p(d.holder.id),
      payorId: p(d.icb.id),
    },
    position: budgetPosition(
      d.budget,
      approved.map((r) => ({ amount: r.amount })),
      approved.map((r) => ({ amount: r.amount })),
    ),
    plan: {
      ...d.plan,
      id: p(d.plan.id),
      journeyId: p(d.journey.id),
      budgetHolderId: p(d.holder.id),
      budgetId: p(d.budget.id),
      status: 'completed',
      goalIds: goals.map((g) => g.id),
      items: d.plan.items.map((i) => ({ ...i, goalIds: i.goalIds.map(p), status: 'purchased' as const })),
    },
    goals,
    scores: [],
    actionsForGp: ['Review at the next routine appointment how the person is getting on with their goals.'],
    actionsForPerson: [
      'Keep going to the activities the budget paid for; contact the recovery team if things get harder.',
    ],
    informationGiven: [
      'How to contact the recovery team after discharge.',
      'How to ask for a personal health budget again.',
    ],
    individualRequirements: 'Prefers appointments by text message.',
    clinicalSummary:
      'Discharged from secondary mental health care after a one-off personal health budget supported recovery goals.',
  };
}
