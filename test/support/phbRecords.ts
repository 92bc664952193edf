import type { FhirResource, QuestionnaireResponse, Task } from 'fhir/r4.js';
import { exampleId } from '../../src/api/route.js';
import type { Budget, CarePlanPcsp, PhbJourney, RecoveryGoal } from '../../src/domain/model.js';
import * as account from '../../src/fhir/account.js';
import * as carePlan from '../../src/fhir/careplan.js';
import * as chargeItem from '../../src/fhir/chargeItem.js';
import * as coverage from '../../src/fhir/coverage.js';
import * as episodeOfCare from '../../src/fhir/episodeOfCare.js';
import * as goal from '../../src/fhir/goal.js';
import * as observation from '../../src/fhir/observation.js';
import * as organization from '../../src/fhir/organization.js';
import * as serviceRequest from '../../src/fhir/serviceRequest.js';
import type { FhirStore } from '../../src/store/fhirStore.js';
import { putEntry } from './transactions.js';

/**
 * One person's PHB in HAPI, written in one transaction: journey, budget (with its ledger), plan,
 * two goals, an open impact-questionnaire request, an answered one with its score, and a Task.
 * The first record of each served type has the id the route table's example URLs use.
 */
export interface SeededPhb {
  journeyId: string;
  budgetId: string;
  planId: string;
  goalIds: string[];
  requestId: string;
  responseId: string;
  observationId: string;
  taskId: string;
  /** In pence. */
  money: { indicative: number; agreed: number; paid: number; spent: number };
}

const IMPACT = 'https://phb.fhir.example.org/Questionnaire/phb-impact';
const START = '2026-01-05';

export async function seedPhb(store: FhirStore, patientId: string): Promise<SeededPhb> {
  const id = (type: string): string => exampleId(type, patientId);
  const icbId = `${patientId}-icb`.slice(0, 64);
  const journey: PhbJourney = {
    id: id('EpisodeOfCare'),
    budgetHolderId: patientId,
    kind: 'one-off',
    cohort: 'mental-health-recovery',
    stage: 'active',
    eligibility: { eligible: true, rightToHave: false, cluster: 5 },
    managingOrganisationId: icbId,
    start: START,
  };
  const budget: Budget = {
    id: id('Coverage'),
    journeyId: journey.id,
    budgetHolderId: patientId,
    kind: 'one-off',
    cohort: 'mental-health-recovery',
    payorId: icbId,
    indicative: 50000,
    agreed: 45000,
    managementOption: 'direct-payment',
    split: { 'direct-payment': 45000 },
    period: { start: START },
    status: 'active',
  };
  const goals: RecoveryGoal[] = [
    {
      id: id('Goal'),
      budgetHolderId: patientId,
      text: 'I want to finish my course.',
      lifecycle: 'active',
      achievement: 'in-progress',
      start: START,
      notes: [],
    },
    {
      id: `${id('Goal')}-2`.slice(0, 64),
      budgetHolderId: patientId,
      text: 'I want to meet people.',
      lifecycle: 'active',
      start: START,
      notes: [],
    },
  ];
  const plan: CarePlanPcsp = {
    id: id('CarePlan'),
    journeyId: journey.id,
    budgetHolderId: patientId,
    budgetId: budget.id,
    status: 'active',
    title: 'My plan',
    goalIds: goals.map((g) => g.id),
    created: `${START}T10:00:00+00:00`,
    agreedOn: START,
    items: [
      {
        id: 'item-1',
        description: 'Laptop',
        category: 'it-equipment',
        cost: 42000,
        goalIds: [goals[0]?.id ?? ''],
        status: 'purchased',
      },
    ],
  };
  const answeredId = `${id('ServiceRequest')}-done`.slice(0, 64);
  const response: QuestionnaireResponse & { id: string } = {
    resourceType: 'QuestionnaireResponse',
    id: id('QuestionnaireResponse'),
    status: 'completed',
    questionnaire: `${IMPACT}|0.1.0`,
    subject: { reference: `Patient/${patientId}` },
    authored: `${START}T11:00:00+00:00`,
    basedOn: [{ reference: `ServiceRequest/${answeredId}` }],
    item: ['confidence', 'connected', 'progressTowardGoals', 'wellbeing'].map((linkId) => ({
      linkId,
      answer: [{ valueInteger: 2 }],
    })),
  };
  const task: Task & { id: string } = {
    resourceType: 'Task',
    id: id('Task'),
    status: 'requested',
    intent: 'order',
    for: { reference: `Patient/${patientId}` },
  };
  const ledger = { budgetHolderId: patientId };
  const resources: FhirResource[] = [
    organization.toFhir({ id: icbId, name: 'Test ICB', kind: 'icb' }),
    episodeOfCare.toFhir(journey),
    coverage.toFhir(budget),
    account.toFhir(account.accountFor(budget)),
    chargeItem.toFhir(
      {
        kind: 'payment',
        payment: {
          id: `${patientId}-pay`.slice(0, 64),
          budgetId: budget.id,
          amount: 42000,
          paid: `${START}T12:00:00+00:00`,
          managementOption: 'direct-payment',
        },
      },
      ledger,
    ),
    chargeItem.toFhir(
      {
        kind: 'spend',
        line: {
          id: `${patientId}-spend1`.slice(0, 64),
          budgetId: budget.id,
          itemId: 'item-1',
          amount: 39999,
          category: 'it-equipment',
          occurred: START,
        },
      },
      ledger,
    ),
    chargeItem.toFhir(
      {
        kind: 'spend',
        line: {
          id: `${patientId}-spend2`.slice(0, 64),
          budgetId: budget.id,
          amount: 1,
          category: 'it-equipment',
          occurred: START,
        },
      },
      ledger,
    ),
    ...goals.map(goal.toFhir),
    carePlan.toFhir(plan),
    serviceRequest.toFhir({
      id: id('ServiceRequest'),
      budgetHolderId: patientId,
      questionnaire: 'phb-impact',
      status: 'active',
      authored: `${START}T09:00:00+00:00`,
    }),
    serviceRequest.toFhir({
      id: answeredId,
      budgetHolderId: patientId,
      questionnaire: 'phb-impact',
      status: 'completed',
      authored: `${START}T08:00:00+00:00`,
    }),
    response,
    observation.toFhir({
      id: id('Observation'),
      budgetHolderId: patientId,
      journeyId: journey.id,
      questionnaire: IMPACT,
      questionnaireVersion: '0.1.0',
      score: 'total',
      value: 8,
      time: response.authored ?? START,
      responseId: response.id,
      requestId: answeredId,
    }),
    task,
    // A discharge document and the DocumentReference listing it (the GP system's read and search).
    {
      resourceType: 'Bundle',
      id: id('Bundle'),
      // A valid R4 document: an identifier, and the subject inside it (as the discharge operation writes them).
      identifier: { system: 'https://phb.fhir.example.org/Id/discharge-document', value: id('Bundle') },
      type: 'document',
      timestamp: `${START}T12:00:00+00:00`,
      entry: [
        {
          fullUrl: 'urn:uuid:6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b',
          resource: {
            resourceType: 'Composition',
            status: 'final',
            type: { coding: [{ system: 'http://snomed.info/sct', code: '373942005', display: 'Discharge summary' }] },
            subject: { reference: 'urn:uuid:0b7e4d2a-1c3f-4e5a-9b6c-7d8e9f0a1b2c' },
            date: START,
            author: [{ display: 'Recovery team' }],
            title: 'Discharge summary',
          },
        },
        {
          fullUrl: 'urn:uuid:0b7e4d2a-1c3f-4e5a-9b6c-7d8e9f0a1b2c',
          resource: { resourceType: 'Patient', id: patientId },
        },
      ],
    },
    {
      resourceType: 'DocumentReference',
      id: id('DocumentReference'),
      status: 'current',
      subject: { reference: `Patient/${patientId}` },
      type: { coding: [{ system: 'http://snomed.info/sct', code: '373942005', display: 'Discharge summary' }] },
      content: [{ attachment: { contentType: 'application/fhir+json', url: `Bundle/${id('Bundle')}` } }],
    },
  ];
  await store.transaction({ resourceType: 'Bundle', type: 'transaction', entry: resources.map(putEntry) });
  return {
    journeyId: journey.id,
    budgetId: budget.id,
    planId: plan.id,
    goalIds: goals.map((g) => g.id),
    requestId: id('ServiceRequest'),
    responseId: response.id,
    observationId: id('Observation'),
    taskId: task.id,
    money: { indicative: 50000, agreed: 45000, paid: 42000, spent: 40000 },
  };
}
