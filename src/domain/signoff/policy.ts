import type { PhbKind, SignOffRole } from '../codes.js';
import { formatPounds, type Pence } from '../money.js';

/**
 * An organisation's delegated authority for spend sign-off, as data (DESIGN section 4): each
 * ICB ships its own document in policies/, so a new policy needs no code change.
 */
export interface SignOffPolicy {
  /** Short name, also the file name in policies/ (e.g. `city-and-hackney`). */
  id: string;
  /** Recorded with decisions so a later reader knows which rules applied. */
  version: string;
  organisation: { id: string; name: string; odsCode?: string };
  description?: string;
  /** The PHB kinds the policy covers; absent means every kind. */
  appliesTo?: PhbKind[];
  /** Amount bands, lowest first; the request's amount picks the first band it fits. */
  tiers: SignOffTier[];
  /** Most a single item may cost for a PHB kind (e.g. Merseyside one-off items). */
  itemLimits?: ItemLimit[];
  appeals?: AppealRules;
}

export interface SignOffTier {
  /** Inclusive upper bound in pence; the last tier has none (no upper limit). */
  upTo?: Pence;
  /** Every one of these roles must approve. */
  signers: SignOffRole[];
  /** What people call this tier, e.g. "e-approval panel". */
  name?: string;
}

export interface ItemLimit {
  kind: PhbKind;
  /** Inclusive: an item costing exactly this is allowed. */
  upTo: Pence;
}

export interface AppealRules {
  /** When true, someone who declined a request cannot decide its appeal: fresh eyes hear it. */
  decliningSignersStandAside: boolean;
}

/** A rule a policy document breaks; `pointer` is a JSON pointer into the document. */
export interface PolicyProblem {
  pointer: string;
  message: string;
}

/**
 * The rules a schema cannot say: tiers ascend, only the last is unbounded, limits are not
 * repeated and concern kinds the policy covers. Empty when the policy is sound.
 */
export function policyProblems(policy: SignOffPolicy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const last = policy.tiers.length - 1;
  if (last < 0) problems.push({ pointer: '/tiers', message: 'must have at least one tier' });
  let previous: Pence | undefined;
  policy.tiers.forEach((tier, i) => {
    const pointer = `/tiers/${i}/upTo`;
    if (i === last) {
      if (tier.upTo !== undefined)
        problems.push({ pointer, message: 'the last tier must have no upper limit, so every amount has signers' });
      return;
    }
    if (tier.upTo === undefined) {
      problems.push({ pointer, message: 'only the last tier may be unbounded; this tier needs an upper limit' });
      return;
    }
    if (previous !== undefined && tier.upTo <= previous) {
      problems.push({
        pointer,
        message: `tiers must ascend: ${formatPounds(tier.upTo)} is not above the tier before (${formatPounds(previous)})`,
      });
    }
    previous = tier.upTo;
  });
  const seen = new Set<PhbKind>();
  (policy.itemLimits ?? []).forEach((limit, i) => {
    if (seen.has(limit.kind))
      problems.push({ pointer: `/itemLimits/${i}/kind`, message: `${limit.kind} already has an item limit` });
    seen.add(limit.kind);
    if (policy.appliesTo && !policy.appliesTo.includes(limit.kind)) {
      problems.push({
        pointer: `/itemLimits/${i}/kind`,
        message: `the policy does not apply to ${limit.kind} PHBs (appliesTo)`,
      });
    }
  });
  return problems;
}
