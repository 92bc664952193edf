import type { Annotation, Goal } from 'fhir/r4.js';
import { GOAL_ACHIEVEMENTS, GOAL_LIFECYCLES, isCode } from '../domain/codes.js';
import { DomainError } from '../domain/errors.js';
import type { RecoveryGoal } from '../domain/model.js';
import { reference, referencedId, SYSTEMS } from './common.js';
import { opt, required } from './fields.js';

/** RecoveryGoal <-> Goal (profile phb-goal); mappings/goal.md is the table. */
export const PROFILE = SYSTEMS.profile('phb-goal');

export function toFhir(goal: RecoveryGoal): Goal & { id: string } {
  const patient = reference('Patient', goal.budgetHolderId);
  return {
    resourceType: 'Goal',
    id: goal.id,
    meta: { profile: [PROFILE] },
    ...(goal.sourceIdentifiers?.length
      ? { identifier: goal.sourceIdentifiers.map((i) => ({ system: i.system, value: i.value })) }
      : {}),
    lifecycleStatus: goal.lifecycle,
    ...(goal.achievement !== undefined
      ? { achievementStatus: { coding: [{ system: SYSTEMS.goalAchievement, code: goal.achievement }] } }
      : {}),
    // The person's own words go in text only: they are not coded, and must not be reworded.
    description: { text: goal.text },
    subject: patient,
    startDate: goal.start,
    ...(goal.target !== undefined ? { target: [{ dueDate: goal.target }] } : {}),
    expressedBy: patient,
    ...(goal.notes.length > 0 ? { note: goal.notes.map(noteToFhir) } : {}),
  };
}

export function fromFhir(goal: Goal): RecoveryGoal {
  if (!isCode(GOAL_LIFECYCLES, goal.lifecycleStatus)) {
    throw new DomainError(
      'Goal.lifecycleStatus',
      `Goal.lifecycleStatus is not a goal lifecycle status (got ${goal.lifecycleStatus})`,
    );
  }
  if ((goal.target?.length ?? 0) > 1)
    throw new DomainError('Goal.target', 'Goal.target must hold at most one due date');
  const codings = goal.achievementStatus?.coding ?? [];
  const achievement = codings.find((c) => c.system === SYSTEMS.goalAchievement)?.code;
  if (goal.achievementStatus && !isCode(GOAL_ACHIEVEMENTS, achievement)) {
    throw new DomainError(
      'Goal.achievementStatus',
      `Goal.achievementStatus must carry a code from ${SYSTEMS.goalAchievement}`,
    );
  }
  return {
    id: required(goal.id, 'Goal.id'),
    budgetHolderId: referencedId(goal.subject, 'Patient', 'Goal.subject'),
    text: required(goal.description.text, 'Goal.description.text'),
    lifecycle: goal.lifecycleStatus,
    ...opt('achievement', isCode(GOAL_ACHIEVEMENTS, achievement) ? achievement : undefined),
    start: required(goal.startDate, 'Goal.startDate'),
    ...opt('target', goal.target?.[0]?.dueDate),
    notes: (goal.note ?? []).map(noteFromFhir),
    ...opt(
      'sourceIdentifiers',
      goal.identifier?.length
        ? goal.identifier.map((id, i) => ({
            system: required(id.system, `Goal.identifier[${i}].system`),
            value: required(id.value, `Goal.identifier[${i}].value`),
          }))
        : undefined,
    ),
  };
}

function noteToFhir(note: RecoveryGoal['notes'][number]): Annotation {
  return { text: note.text, time: note.time, ...opt('authorString', note.author) };
}

function noteFromFhir(note: Annotation, i: number): RecoveryGoal['notes'][number] {
  if (note.authorReference) {
    throw new DomainError(
      `Goal.note[${i}].author`,
      `Goal.note[${i}].author must be a name (authorString), not a reference`,
    );
  }
  return {
    text: note.text,
    time: required(note.time, `Goal.note[${i}].time`),
    ...opt('author', note.authorString),
  };
}

/** Elements whose value is never part of the record's content (server-managed or generated). */
const BOOKKEEPING = new Set(['resourceType', 'id', 'meta', 'text']);

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  return [...keys].every((k) => sameValue(ra[k], rb[k]));
}

/** The top-level elements of a Goal that differ between two versions (whatever their key order). */
export function changedElements(current: Goal, proposed: Goal): string[] {
  const a = current as unknown as Record<string, unknown>;
  const b = proposed as unknown as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !BOOKKEEPING.has(k) && !sameValue(a[k], b[k]))
    .sort();
}
