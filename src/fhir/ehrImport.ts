import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, CarePlan, Goal, Patient, Reference } from 'fhir/r4.js';
import { GOAL_ACHIEVEMENTS, GOAL_LIFECYCLES, isCode } from '../domain/codes.js';
import { DomainError } from '../domain/errors.js';
import type { BudgetHolder, RecoveryGoal } from '../domain/model.js';
import { parseNhsNumber, type NhsNumber } from '../domain/nhsNumber.js';
import type { Issue } from '../outcome/errors.js';
import { reference, SYSTEMS } from './common.js';
import * as goal from './goal.js';

/** What a secondary care EHR sent: the person, their goals, and optionally its care plan. */
export interface EhrSubmission {
  nhsNumber: NhsNumber;
  /** The sender's Patient, for a person we do not know yet. */
  patient: { entry: number; resource: Patient };
  goals: {
    entry: number;
    goal: Omit<RecoveryGoal, 'id' | 'budgetHolderId'> & { sourceIdentifiers: { system: string; value: string }[] };
  }[];
  carePlan?: { entry: number; resource: CarePlan; identifier: { system: string; value: string } };
}

const at = (i: number, path = ''): string => `Bundle.entry[${i}].resource${path}`;

function refersTo(ref: Reference | undefined, patientUrls: ReadonlySet<string>): boolean {
  return ref?.reference !== undefined && patientUrls.has(ref.reference);
}

/**
 * Reads a transaction or document Bundle from an EHR. Every problem is reported with the entry
 * it is in, so the sender can fix them all at once; nothing is returned unless all entries are good.
 */
export function readEhrBundle(bundle: Bundle): { submission?: EhrSubmission; issues: Issue[] } {
  const issues: Issue[] = [];
  const problem = (location: string, diagnostics: string, code: Issue['code'] = 'invalid'): void => {
    issues.push({ code, diagnostics, location });
  };
  if (bundle.resourceType !== 'Bundle' || (bundle.type !== 'transaction' && bundle.type !== 'document')) {
    return {
      issues: [
        { code: 'invalid', diagnostics: 'Send a Bundle of type transaction or document', location: 'Bundle.type' },
      ],
    };
  }
  const entries: BundleEntry[] = bundle.entry ?? [];
  const patients = entries.map((e, i) => [e, i] as const).filter(([e]) => e.resource?.resourceType === 'Patient');
  if (patients.length !== 1) {
    return {
      issues: [
        {
          code: 'required',
          diagnostics: `The Bundle must carry exactly one Patient (found ${patients.length})`,
          location: 'Bundle.entry',
        },
      ],
    };
  }
  const [patientEntry, patientIndex] = patients[0] as readonly [BundleEntry, number];
  const patient = patientEntry.resource as Patient;
  const nhsIndex = (patient.identifier ?? []).findIndex((id) => id.system === SYSTEMS.nhsNumber);
  let nhsNumber: NhsNumber | undefined;
  try {
    nhsNumber = parseNhsNumber(
      patient.identifier?.[nhsIndex]?.value,
      at(patientIndex, `.identifier[${Math.max(nhsIndex, 0)}].value`),
    );
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    problem(
      e.field,
      nhsIndex < 0 ? `${at(patientIndex)}: the Patient has no NHS number (${SYSTEMS.nhsNumber})` : e.message,
      nhsIndex < 0 ? 'required' : 'value',
    );
  }
  const patientUrls = new Set(
    [patientEntry.fullUrl, patient.id ? `Patient/${patient.id}` : undefined].filter(
      (u): u is string => u !== undefined,
    ),
  );

  const goals: EhrSubmission['goals'] = [];
  let carePlan: EhrSubmission['carePlan'];
  entries.forEach((entry, i) => {
    const resource = entry.resource;
    if (!resource || i === patientIndex) return;
    if (resource.resourceType === 'Goal') {
      const g = resource as Goal;
      const ids = (g.identifier ?? [])
        .filter((id) => id.system && id.value)
        .map((id) => ({ system: id.system as string, value: id.value as string }));
      if (ids.length === 0)
        problem(
          at(i, '.identifier'),
          `${at(i)}: a Goal needs an identifier from the sending system, so a re-send updates it`,
          'required',
        );
      if (!g.description?.text)
        problem(at(i, '.description.text'), `${at(i)}: a Goal needs its description in words`, 'required');
      if (!refersTo(g.subject, patientUrls))
        problem(at(i, '.subject'), `${at(i)}: the Goal's subject must be the Patient in this Bundle`);
      if (!isCode(GOAL_LIFECYCLES, g.lifecycleStatus))
        problem(at(i, '.lifecycleStatus'), `${at(i)}: lifecycleStatus is not a goal status`);
      const achievement = g.achievementStatus?.coding?.find((c) => c.system === SYSTEMS.goalAchievement)?.code;
      if (g.achievementStatus && !isCode(GOAL_ACHIEVEMENTS, achievement)) {
        problem(
          at(i, '.achievementStatus'),
          `${at(i)}: achievementStatus must carry a code from ${SYSTEMS.goalAchievement}`,
        );
      }
      if (ids.length > 0 && g.description?.text && isCode(GOAL_LIFECYCLES, g.lifecycleStatus)) {
        goals.push({
          entry: i,
          goal: {
            text: g.description.text,
            lifecycle: g.lifecycleStatus,
            ...(isCode(GOAL_ACHIEVEMENTS, achievement) ? { achievement } : {}),
            start: g.startDate ?? new Date().toISOString().slice(0, 10),
            ...(g.target?.[0]?.dueDate ? { target: g.target[0].dueDate } : {}),
            notes: [],
            sourceIdentifiers: ids,
          },
        });
      }
    } else if (resource.resourceType === 'CarePlan') {
      const plan = resource as CarePlan;
      const id = plan.identifier?.find((x) => x.system && x.value);
      if (carePlan) problem(at(i), `${at(i)}: send at most one CarePlan`);
      else if (!id)
        problem(at(i, '.identifier'), `${at(i)}: a CarePlan needs an identifier from the sending system`, 'required');
      else if (!refersTo(plan.subject, patientUrls))
        problem(at(i, '.subject'), `${at(i)}: the CarePlan's subject must be the Patient in this Bundle`);
      else
        carePlan = { entry: i, resource: plan, identifier: { system: id.system as string, value: id.value as string } };
    } else if (resource.resourceType !== 'Composition') {
      problem(
        at(i),
        `${at(i)}: ${resource.resourceType} is not accepted here (send Patient, Goal and optionally CarePlan)`,
        'not-supported',
      );
    }
  });
  if (goals.length === 0 && issues.length === 0) problem('Bundle.entry', 'The Bundle carries no Goal', 'required');
  if (issues.length > 0 || !nhsNumber) return { issues };
  return {
    submission: {
      nhsNumber,
      patient: { entry: patientIndex, resource: patient },
      goals,
      ...(carePlan ? { carePlan } : {}),
    },
    issues,
  };
}

/** Conditional on the patient as well, so one EHR's ids can never reach another person's records. */
const conditional = (type: string, patientId: string, id: { system: string; value: string }): string =>
  `${type}?patient=Patient/${encodeURIComponent(patientId)}&identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`;

/**
 * One transaction storing the EHR's goals (and care plan) for our patient: conditional updates
 * keyed on the EHR's own identifiers, so sending the same Bundle again updates rather than copies.
 */
export function importTransaction(patientId: string, submission: EhrSubmission): Bundle {
  const entry: BundleEntry[] = submission.goals.map(({ goal: g }) => {
    const { id: _serverAssigns, ...resource } = goal.toFhir({ ...g, id: 'unassigned', budgetHolderId: patientId });
    // A placeholder fullUrl, so the journey's plan can list the goal in the same transaction.
    return {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource,
      request: {
        method: 'PUT',
        url: conditional('Goal', patientId, g.sourceIdentifiers[0] as { system: string; value: string }),
      },
    };
  });
  if (submission.carePlan) {
    const { resource, identifier } = submission.carePlan;
    // The EHR's goal references point into its own Bundle; the goals travel as their own entries.
    const { id: _serverAssigns, goal: _goals, contained: _contained, ...plan } = resource;
    entry.push({
      resource: { ...plan, subject: reference('Patient', patientId) },
      request: { method: 'PUT', url: conditional('CarePlan', patientId, identifier) },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/**
 * A person we do not know yet, as the sender describes them: the name as given (text, else given
 * and family), birth date and GP practice. Name and birth date are required, as for a referral.
 */
export function newHolder(submission: EhrSubmission, id: string): { holder?: BudgetHolder; issues: Issue[] } {
  const { entry, resource } = submission.patient;
  const name = resource.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter((x) => x).join(' ');
  const issues: Issue[] = [];
  if (!text)
    issues.push({
      code: 'required',
      diagnostics: `${at(entry)}: a person new to this service needs a name`,
      location: at(entry, '.name'),
    });
  if (!resource.birthDate)
    issues.push({
      code: 'required',
      diagnostics: `${at(entry)}: a person new to this service needs a birth date`,
      location: at(entry, '.birthDate'),
    });
  const gp = resource.generalPractitioner?.find(
    (g) => g.identifier?.system === SYSTEMS.odsOrganisation && g.identifier.value,
  )?.identifier?.value;
  if (issues.length > 0 || !resource.birthDate) return { issues };
  return {
    holder: {
      id,
      nhsNumber: submission.nhsNumber,
      name: text,
      birthDate: resource.birthDate,
      ...(gp ? { gpPracticeOds: gp } : {}),
    },
    issues,
  };
}

/**
 * The journey's plan with the imported goals added (`refs` are `Goal/<id>` or the transaction's
 * placeholders); undefined when it already lists them all, so a re-send changes nothing.
 */
export function withGoals(
  plan: CarePlan & { id: string },
  refs: readonly string[],
): (CarePlan & { id: string }) | undefined {
  const listed = new Set((plan.goal ?? []).map((g) => g.reference));
  const added = refs.filter((r) => !listed.has(r));
  if (added.length === 0) return undefined;
  return { ...plan, goal: [...(plan.goal ?? []), ...added.map((reference) => ({ reference }))] };
}
