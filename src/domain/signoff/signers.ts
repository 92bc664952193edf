import {
  RESTRICTION_ALTERNATIVES,
  RESTRICTION_LABELS,
  SPEND_CATEGORIES,
  isCode,
  restrictionFor,
  type NationalRestriction,
  type PhbKind,
  type SignOffRole,
  type SpendCategory,
} from '../codes.js';
import { DomainError } from '../errors.js';
import { formatPounds, requirePence, type Pence } from '../money.js';
import type { SignOffPolicy } from './policy.js';

/** What sign-off needs to know about a request: its amount, what it buys and the PHB's kind. */
export interface SignOffQuestion {
  amount: Pence;
  category: SpendCategory;
  kind: PhbKind;
}

/** Who must sign, or why the request is refused without going to anyone. */
export type SignOffRequirement =
  | { outcome: 'sign-off'; roles: SignOffRole[]; tier: number; tierName?: string }
  | {
      outcome: 'refused';
      rule: 'national-restriction';
      restriction: NationalRestriction;
      field: '/category';
      reason: string;
      alternatives: string;
    }
  | { outcome: 'refused'; rule: 'item-limit'; limit: Pence; field: '/amount'; reason: string; alternatives: string };

/**
 * Applies a policy to a request. National restrictions come first and hold under every policy;
 * then the policy's own item limit; then the first tier whose upper limit covers the amount.
 * A PHB kind the policy does not cover is an error, not a refusal: the request is not the problem.
 */
export function requiredSigners(policy: SignOffPolicy, request: SignOffQuestion): SignOffRequirement {
  const amount = requirePence(request.amount, '/amount');
  if (amount === 0) throw new DomainError('/amount', '/amount: a spend request must be for more than £0.00');
  if (!isCode(SPEND_CATEGORIES, request.category))
    throw new DomainError('/category', `/category: not a spend category (one of ${SPEND_CATEGORIES.join(', ')})`);

  const restriction = restrictionFor(request.category);
  if (restriction) {
    return {
      outcome: 'refused',
      rule: 'national-restriction',
      restriction,
      field: '/category',
      reason: `${RESTRICTION_LABELS[restriction]} is a national restriction: no personal health budget may pay for it`,
      alternatives: RESTRICTION_ALTERNATIVES[restriction],
    };
  }

  if (policy.appliesTo && !policy.appliesTo.includes(request.kind)) {
    throw new DomainError(
      '/kind',
      `/kind: the ${policy.organisation.name} sign-off policy does not cover ${request.kind} PHBs`,
      'business-rule',
    );
  }

  const limit = policy.itemLimits?.find((l) => l.kind === request.kind);
  if (limit && amount > limit.upTo) {
    return {
      outcome: 'refused',
      rule: 'item-limit',
      limit: limit.upTo,
      field: '/amount',
      reason: `${formatPounds(amount)} is over the ${request.kind} item limit of ${formatPounds(limit.upTo)} under this policy (${policy.organisation.name})`,
      alternatives: `A smaller item or a cheaper provider within ${formatPounds(limit.upTo)}, or another way towards the same goal agreed with the care coordinator.`,
    };
  }

  const tier = policy.tiers.findIndex((t) => t.upTo === undefined || amount <= t.upTo);
  const chosen = policy.tiers[tier];
  // A checked policy always ends unbounded; reaching here means it was never checked.
  if (!chosen) throw new Error(`sign-off policy ${policy.id} has no tier for ${formatPounds(amount)}`);
  return {
    outcome: 'sign-off',
    roles: [...chosen.signers],
    tier,
    ...(chosen.name !== undefined ? { tierName: chosen.name } : {}),
  };
}
