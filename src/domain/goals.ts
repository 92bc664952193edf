import { DomainError } from './errors.js';
import type { RecoveryGoal } from './model.js';

/**
 * What the budget holder (or their app) may change on their own goal: how it is going, and a new
 * note. The words of the goal, its dates and its status are agreed in the plan with staff.
 */
export const OWN_GOAL_FIELDS = ['achievementStatus', 'note'] as const;

export function checkOwnGoalChange(current: RecoveryGoal, proposed: RecoveryGoal): void {
  const kept = proposed.notes.slice(0, current.notes.length);
  current.notes.forEach((note, i) => {
    const same = kept[i];
    if (!same || same.text !== note.text || same.time !== note.time || same.author !== note.author) {
      throw new DomainError(
        `Goal.note[${i}]`,
        `Goal.note[${i}]: earlier notes cannot be changed or removed; add a new note at the end`,
        'business-rule',
      );
    }
  });
  proposed.notes.slice(current.notes.length).forEach((note, j) => {
    if (note.text.trim() === '')
      throw new DomainError(
        `Goal.note[${current.notes.length + j}].text`,
        `Goal.note[${current.notes.length + j}].text is empty`,
      );
  });
}
