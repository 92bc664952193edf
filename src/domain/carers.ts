import { DomainError } from './errors.js';
import type { IsoDate, UnpaidCarer } from './model.js';

/**
 * Step 2: where unpaid carers are identified they should also be offered an assessment of their
 * own (PHB Quality Framework). Each carer is either offered one, with what came of it (the
 * carer may not have decided yet, which is itself an answer), or not, with the reason why; an
 * offer cannot postdate the conversation that records it. Returns the carers with their words
 * trimmed; errors point at `/carers/<i>/<field>`.
 */
export function identifyCarers(carers: readonly UnpaidCarer[], recordedOn: IsoDate): UnpaidCarer[] {
  return carers.map((carer, i) => {
    const at = (field: keyof UnpaidCarer): string => `/carers/${i}/${field}`;
    const relationship = carer.relationship.trim();
    if (!relationship)
      throw new DomainError(at('relationship'), `${at('relationship')}: say who they are to the person`);
    const reason = carer.notOfferedReason?.trim();
    if (carer.assessmentOffered) {
      if (carer.outcome === undefined) {
        throw new DomainError(
          at('outcome'),
          `${at('outcome')}: an offered assessment needs its outcome (not-yet-decided if the carer has not decided)`,
        );
      }
      if (carer.notOfferedReason !== undefined)
        throw new DomainError(at('notOfferedReason'), `${at('notOfferedReason')}: only for a carer not offered one`);
      if (carer.offeredOn !== undefined && carer.offeredOn > recordedOn) {
        throw new DomainError(at('offeredOn'), `${at('offeredOn')}: after the needs conversation (${recordedOn})`);
      }
      return {
        relationship,
        assessmentOffered: true,
        outcome: carer.outcome,
        ...(carer.offeredOn !== undefined ? { offeredOn: carer.offeredOn } : {}),
      };
    }
    if (carer.outcome !== undefined)
      throw new DomainError(at('outcome'), `${at('outcome')}: an outcome only follows an offered assessment`);
    if (carer.offeredOn !== undefined)
      throw new DomainError(at('offeredOn'), `${at('offeredOn')}: no assessment was offered`);
    if (!reason) {
      throw new DomainError(
        at('notOfferedReason'),
        `${at('notOfferedReason')}: a carer identified but not offered an assessment needs the reason why`,
      );
    }
    return { relationship, assessmentOffered: false, notOfferedReason: reason };
  });
}
