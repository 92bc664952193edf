import type { IsoDateTime, SpendRequest } from '../model.js';
import { lastDecisionTime } from './decisions.js';
import { instantMs } from './time.js';

/**
 * How long a request took: submitted -> final decision -> paid, in milliseconds (the seeds
 * promise "a matter of days or weeks"; reports turn these into days). A duration is absent until
 * its end has happened. Refused requests never reach a decision, so they have none.
 */
export interface Turnaround {
  submitted: IsoDateTime;
  /** When the request was finally approved (the last approval) or declined. */
  decided?: IsoDateTime;
  paid?: IsoDateTime;
  requestToDecisionMs?: number;
  decisionToPaymentMs?: number;
  requestToPaymentMs?: number;
  /** How many appeals the request went through before the decision. */
  appeals: number;
}

export function turnaround(
  request: Pick<SpendRequest, 'submitted' | 'status' | 'decisions' | 'paidOn' | 'appeals'>,
): Turnaround {
  const submittedMs = instantMs(request.submitted, '/submitted');
  const result: Turnaround = { submitted: request.submitted, appeals: request.appeals?.length ?? 0 };
  const final = request.status === 'approved' || request.status === 'declined';
  const decided = final ? lastDecisionTime(request) : undefined;
  if (decided !== undefined) {
    result.decided = decided;
    result.requestToDecisionMs = instantMs(decided, '/decisions/time') - submittedMs;
  }
  if (request.paidOn !== undefined) {
    const paidMs = instantMs(request.paidOn, '/paidOn');
    result.paid = request.paidOn;
    result.requestToPaymentMs = paidMs - submittedMs;
    if (decided !== undefined) result.decisionToPaymentMs = paidMs - instantMs(decided, '/decisions/time');
  }
  return result;
}

const HOUR_MS = 3_600_000;

/** Durations for people, in hours to one decimal: enough at a scale of days and weeks. */
export function inHours(ms: number): number {
  return Math.round((ms / HOUR_MS) * 10) / 10;
}
