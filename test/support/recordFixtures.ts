import { restrictionFor } from '../../src/domain/codes.js';
import type {
  Agreement,
  BudgetAccount,
  BudgetHolder,
  Organisation,
  Payment,
  PhbJourney,
  PhrConsent,
  QuestionnaireRequest,
  Representative,
  SpendLine,
  StaffMember,
} from '../../src/domain/model.js';
import { parseNhsNumber } from '../../src/domain/nhsNumber.js';
import { accountFor } from '../../src/fhir/account.js';
import type { LedgerContext } from '../../src/fhir/chargeItem.js';
import type { DecisionRecord } from '../../src/fhir/provenance.js';
import { scenarioDomain } from './scenarioDomain.js';
import { loadScenarios } from './scenarios.js';

/**
 * Domain objects for the people-and-records mappers: every one the scenarios imply, plus
 * dedicated fixtures for what the scenarios never reach (closure, nominees, decisions with
 * alternatives, agreements, payments, spend lines, questionnaire requests).
 */

export interface WithContext<T> {
  value: T;
  context: LedgerContext;
}

export interface RecordFixtures {
  holders: BudgetHolder[];
  representatives: Representative[];
  staff: StaffMember[];
  organisations: Organisation[];
  journeys: PhbJourney[];
  questionnaireRequests: QuestionnaireRequest[];
  consents: PhrConsent[];
  decisions: DecisionRecord[];
  agreements: Agreement[];
  accounts: BudgetAccount[];
  spendLines: WithContext<SpendLine>[];
  payments: WithContext<Payment>[];
}

const AT = '2026-01-05T10:00:00+00:00';

/** A value a test relies on being there. */
export function must<T>(value: T | undefined | null): T {
  if (value === undefined || value === null) throw new Error('a fixture the test relies on is missing');
  return value;
}

function fromScenarios(): RecordFixtures {
  const fixtures: RecordFixtures = {
    holders: [],
    representatives: [],
    staff: [],
    organisations: [],
    journeys: [],
    questionnaireRequests: [],
    consents: [],
    decisions: [],
    agreements: [],
    accounts: [],
    spendLines: [],
    payments: [],
  };
  for (const s of loadScenarios()) {
    const d = scenarioDomain(s);
    const context = { budgetHolderId: d.holder.id };
    fixtures.holders.push(d.holder);
    if (d.representative) fixtures.representatives.push(d.representative);
    fixtures.staff.push(d.coordinator);
    fixtures.organisations.push(d.icb);
    fixtures.journeys.push(d.journey);
    if (d.consent) fixtures.consents.push(d.consent);
    fixtures.accounts.push(accountFor(d.budget));
    const option = d.budget.managementOption === 'mixed' ? 'notional' : d.budget.managementOption;
    for (const r of d.requests) {
      if (r.status === 'refused' || restrictionFor(r.category)) continue;
      fixtures.payments.push({
        value: {
          id: `${r.id}-payment`,
          budgetId: d.budget.id,
          requestId: r.id,
          amount: r.amount,
          paid: '2026-01-20T09:00:00+00:00',
          managementOption: option,
        },
        context,
      });
      fixtures.spendLines.push({
        value: {
          id: `${r.id}-spend`,
          budgetId: d.budget.id,
          itemId: r.itemId,
          amount: r.amount,
          category: r.category,
          occurred: '2026-01-22',
        },
        context,
      });
    }
    // The panel's decisions, one Provenance per signer, on the request that needed the panel.
    const panelRequest = d.requests.find((r) => r.requiredRoles.length > 1);
    for (const [i, p] of (s.panel?.decisions ?? []).entries()) {
      if (!panelRequest) break;
      fixtures.decisions.push({
        kind: 'sign-off',
        id: `${panelRequest.id}-decision-${i + 1}`,
        requestId: panelRequest.id,
        decision: {
          role: p.role,
          decidedBy: `${s.id}-${p.role}`,
          outcome: p.decision,
          time: `2026-01-1${i}T15:00:00+00:00`,
          rationale: 'The course is the first step to the goal in the plan.',
        },
      });
    }
  }
  return fixtures;
}

/** What the scenarios do not reach. */
function dedicated(): RecordFixtures {
  const holder = 'fixture-person';
  const context = { budgetHolderId: holder };
  return {
    holders: [
      {
        id: holder,
        nhsNumber: parseNhsNumber('999 007 9196'),
        name: 'Ade Okafor',
        birthDate: '1984-03-12',
        gpPracticeOds: 'F84003',
      },
      // Recorded words that are not a Data Dictionary label travel as text only.
      {
        id: 'fixture-person-2',
        nhsNumber: parseNhsNumber('9990633525'),
        name: 'Matthew Hughes',
        birthDate: '2004-06-18',
        ethnicity: 'Prefers to self-describe: Cornish',
      },
    ],
    representatives: [
      {
        id: 'fixture-nominee',
        budgetHolderId: holder,
        name: 'Helen Hughes',
        relationship: 'Mother and carer',
        nominee: true,
      },
    ],
    staff: [{ id: 'fixture-commissioner', name: 'Priya Shah', role: 'commissioner', organisationOds: 'QMF' }],
    organisations: [
      { id: 'fixture-trust', name: 'East London NHS Foundation Trust', odsCode: 'RWK', kind: 'nhs-provider' },
      { id: 'fixture-gp', name: 'Lower Clapton Group Practice', odsCode: 'F84003', kind: 'gp-practice' },
      { id: 'fixture-isf', name: 'Independent Living Trust', kind: 'third-party' },
      { id: 'fixture-college', name: 'Hackney Community College', kind: 'provider' },
    ],
    journeys: [
      {
        id: 'fixture-journey-closed',
        budgetHolderId: holder,
        kind: 'one-off',
        cohort: 'mental-health-recovery',
        stage: 'closed',
        eligibility: {
          eligible: true,
          rightToHave: false,
          cluster: 5,
          readyForDischarge: true,
          decidedOn: '2025-06-02',
          reason: 'Cluster 5 and ready for discharge to primary care',
        },
        leadContactId: 'fixture-cc',
        managingOrganisationId: 'fixture-trust',
        start: '2025-06-02',
        end: '2026-03-31',
        closureReason: 'discharged-to-primary-care',
      },
      {
        id: 'fixture-journey-referred',
        budgetHolderId: holder,
        kind: 'ongoing',
        cohort: 'nhs-continuing-healthcare',
        stage: 'referred',
        eligibility: { eligible: false, rightToHave: true },
        start: '2026-02-01',
      },
      {
        id: 'fixture-journey-refused',
        budgetHolderId: holder,
        kind: 'one-off',
        cohort: 'mental-health-recovery',
        stage: 'not-eligible',
        eligibility: {
          eligible: false,
          rightToHave: false,
          cluster: 2,
          decidedOn: '2026-02-03',
          reason: 'Cluster below 4',
        },
        start: '2026-02-01',
        end: '2026-02-03',
      },
    ],
    questionnaireRequests: [
      {
        id: 'fixture-qr-1',
        budgetHolderId: holder,
        questionnaire: 'phb-impact',
        requestedBy: 'fixture-cc',
        amendableBy: ['patient', 'practitioner'],
        status: 'active',
        authored: AT,
      },
      { id: 'fixture-qr-2', budgetHolderId: holder, questionnaire: 'phb-review', status: 'completed', authored: AT },
    ],
    consents: [
      {
        id: 'fixture-consent-withdrawn',
        budgetHolderId: holder,
        recipient: 'patient-knows-best',
        status: 'inactive',
        dateTime: '2026-03-01T12:00:00+00:00',
      },
    ],
    decisions: [
      {
        kind: 'sign-off',
        id: 'fixture-decision-approve',
        requestId: 'fixture-request',
        decision: {
          role: 'care-coordinator',
          decidedBy: 'fixture-cc',
          outcome: 'approve',
          time: AT,
          rationale: 'A laptop lets Ade finish his GCSE coursework.',
        },
      },
      {
        kind: 'sign-off',
        id: 'fixture-decision-decline',
        requestId: 'fixture-request',
        decision: {
          role: 'team-lead',
          decidedBy: 'fixture-tl',
          outcome: 'decline',
          time: '2026-01-06T09:30:00+00:00',
          rationale: 'A new laptop costs more than the goal needs.',
          alternatives: 'A refurbished laptop from the college scheme, or a library loan.',
        },
      },
    ],
    agreements: [
      {
        id: 'fixture-agreement',
        journeyId: 'fixture-journey-closed',
        budgetHolderId: holder,
        signedBy: holder,
        signed: AT,
        text: 'I agree to spend my direct payment on the items in my plan and to keep receipts.\nSigned: Ade',
      },
      {
        id: 'fixture-agreement-nominee',
        journeyId: 'fixture-journey-closed',
        budgetHolderId: holder,
        signedBy: 'fixture-nominee',
        signed: AT,
        text: 'As nominee I agree to manage the direct payment for my son.',
      },
    ],
    accounts: [
      {
        id: 'fixture-account',
        budgetId: 'fixture-account',
        budgetHolderId: holder,
        status: 'inactive',
        period: { start: '2025-06-02', end: '2026-03-31' },
      },
    ],
    spendLines: [
      {
        value: {
          id: 'fixture-spend-1',
          budgetId: 'fixture-account',
          itemId: 'fixture-item',
          amount: 34999,
          category: 'it-equipment',
          occurred: '2026-01-22',
          evidence: 'Receipt 44120 from Currys',
          flaggedMisuse: false,
        },
        context,
      },
      {
        value: {
          id: 'fixture-spend-2',
          budgetId: 'fixture-account',
          amount: 1250,
          category: 'alcohol',
          occurred: '2026-02-14',
          flaggedMisuse: true,
        },
        context,
      },
    ],
    payments: [
      {
        value: {
          id: 'fixture-payment',
          budgetId: 'fixture-account',
          amount: 50000,
          paid: AT,
          managementOption: 'managed-account',
        },
        context,
      },
      // An underspend recovered: money paid back, a negative payment.
      {
        value: {
          id: 'fixture-recovery',
          budgetId: 'fixture-account',
          amount: -8000,
          paid: '2026-06-30T10:00:00+00:00',
          managementOption: 'managed-account',
        },
        context,
      },
    ],
  };
}

export function recordFixtures(): RecordFixtures {
  const a = fromScenarios();
  const b = dedicated();
  const keys = Object.keys(a) as (keyof RecordFixtures)[];
  return Object.fromEntries(keys.map((k) => [k, [...a[k], ...b[k]]])) as unknown as RecordFixtures;
}
