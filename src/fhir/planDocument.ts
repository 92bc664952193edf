import type { DocumentReference, Reference } from 'fhir/r4.js';
import type { CalculationLineKind } from '../domain/codes.js';
import type { Budget, CarePlanPcsp, RecoveryGoal } from '../domain/model.js';
import { formatPounds } from '../domain/money.js';
import { escapeHtml } from '../util/html.js';

/**
 * The person's plan as a readable document (HTML, PRSB care and support plan headings), for
 * personal health records that do not show CarePlan or Goal resources: Patient Knows Best
 * aggregates DocumentReference but Goal was not seen in its aggregated list. Pure and
 * deterministic (no "generated at" time), so rendering an unchanged plan again changes nothing.
 */

export const PLAN_DOCUMENT_TITLE = 'My personalised care and support plan';
export const PLAN_DOCUMENT_CONTENT_TYPE = 'text/html; charset=utf-8';

const GOAL_WORDS: Record<string, string> = {
  proposed: 'proposed',
  planned: 'planned',
  accepted: 'agreed',
  active: 'working on it',
  'on-hold': 'on hold',
  completed: 'completed',
  cancelled: 'stopped',
  'entered-in-error': 'entered in error',
  rejected: 'not taken forward',
};
const ITEM_WORDS: Record<string, string> = {
  proposed: 'asked for',
  approved: 'approved',
  declined: 'declined',
  purchased: 'bought',
  cancelled: 'cancelled',
};
const OPTION_WORDS: Record<string, string> = {
  notional: 'notional budget (the NHS arranges it)',
  'third-party': 'third-party budget',
  'direct-payment': 'direct payment',
  'managed-account': 'managed account',
  mixed: 'a mix of options',
};
const LINE_WORDS: Record<CalculationLineKind, string> = {
  'personal-assistant-pay': 'Personal assistant pay',
  'employer-national-insurance': "Employer's National Insurance",
  'employer-pension': 'Employer pension contribution',
  training: 'Training',
  'employer-liability-insurance': "Employer's liability insurance",
  'payroll-service': 'Payroll service',
  contingency: 'Contingency',
  'other-support': 'Other support',
};

function section(heading: string, body: string): string {
  return `<h2>${escapeHtml(heading)}</h2>\n${body}\n`;
}

function paragraph(text: string): string {
  return `<p>${escapeHtml(text)}</p>`;
}

function list(items: string[]): string {
  return items.length ? `<ul>\n${items.map((i) => `<li>${i}</li>`).join('\n')}\n</ul>` : paragraph('None yet.');
}

/** The HTML body: About me, my goals, what the budget buys, my budget, risks and contingency, review. */
export function planHtml(plan: CarePlanPcsp, goals: readonly RecoveryGoal[], budget: Budget | undefined): string {
  const byId = new Map(goals.map((g) => [g.id, g]));
  const planGoals = plan.goalIds.flatMap((id) => byId.get(id) ?? []);
  const parts: string[] = [`<h1>${escapeHtml(plan.title)}</h1>`];
  if (plan.aboutMe !== undefined) parts.push(section('About me', paragraph(plan.aboutMe)));
  parts.push(
    section(
      'My goals',
      list(
        planGoals.map((g) => {
          const status =
            g.achievement !== undefined
              ? `${GOAL_WORDS[g.lifecycle] ?? g.lifecycle}, ${g.achievement.replaceAll('-', ' ')}`
              : (GOAL_WORDS[g.lifecycle] ?? g.lifecycle);
          return `${escapeHtml(g.text)} <em>(${escapeHtml(status)}${g.target ? `, by ${escapeHtml(g.target)}` : ''})</em>`;
        }),
      ),
    ),
  );
  parts.push(
    section(
      'What my budget buys',
      list(
        plan.items.map(
          (i) =>
            `${escapeHtml(i.description)}: ${escapeHtml(formatPounds(i.cost))} <em>(${escapeHtml(ITEM_WORDS[i.status] ?? i.status)})</em>`,
        ),
      ),
    ),
  );
  if (budget) {
    const amount =
      budget.agreed !== undefined
        ? `Agreed budget: ${formatPounds(budget.agreed)}`
        : `Indicative budget: ${formatPounds(budget.indicative)}`;
    const lines = [
      amount,
      `Managed as: ${OPTION_WORDS[budget.managementOption] ?? budget.managementOption}`,
      `From ${budget.period.start}${budget.period.end ? ` to ${budget.period.end}` : ''}`,
    ];
    if (budget.calculation !== undefined) lines.push(`How it was worked out: ${budget.calculation}`);
    // Each employment on-cost on a line of its own, so the person sees what employing someone costs.
    const calculation = (budget.calculationLines ?? []).map(
      (l) =>
        `${escapeHtml(LINE_WORDS[l.kind])}${l.description !== undefined ? ` (${escapeHtml(l.description)})` : ''}: ${escapeHtml(formatPounds(l.amount))}`,
    );
    parts.push(
      section('My budget', [...lines.map(paragraph), ...(calculation.length ? [list(calculation)] : [])].join('\n')),
    );
  }
  if (plan.risks !== undefined || plan.contingency !== undefined) {
    parts.push(
      section(
        'Risks and what happens if things go wrong',
        [plan.risks, plan.contingency].flatMap((t) => (t === undefined ? [] : [paragraph(t)])).join('\n'),
      ),
    );
  }
  const review = [
    plan.agreedOn ? `Agreed on ${plan.agreedOn}.` : 'Not agreed yet.',
    plan.nextReview ? `Next review: ${plan.nextReview}.` : '',
  ]
    .filter((t) => t !== '')
    .join(' ');
  parts.push(section('Review', paragraph(review)));
  return `<!DOCTYPE html>\n<html lang="en-GB">\n<head><meta charset="utf-8"><title>${escapeHtml(plan.title)}</title></head>\n<body>\n${parts.join('\n')}</body>\n</html>\n`;
}

/**
 * The rendering as a DocumentReference. `subject` is how the destination knows the person (an
 * NHS-number reference), `identifier` the key the publisher writes it under.
 */
export function toFhir(
  plan: CarePlanPcsp,
  goals: readonly RecoveryGoal[],
  budget: Budget | undefined,
  subject: Reference,
  identifier: { system: string; value: string },
): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    identifier: [identifier],
    status: plan.status === 'revoked' ? 'superseded' : 'current',
    docStatus: plan.status === 'draft' ? 'preliminary' : 'final',
    type: { text: 'Personalised care and support plan' },
    subject,
    date: plan.agreedOn !== undefined ? `${plan.agreedOn}T00:00:00Z` : plan.created,
    description: plan.title,
    content: [
      {
        attachment: {
          contentType: PLAN_DOCUMENT_CONTENT_TYPE,
          language: 'en-GB',
          title: plan.title || PLAN_DOCUMENT_TITLE,
          data: Buffer.from(planHtml(plan, goals, budget), 'utf8').toString('base64'),
        },
      },
    ],
  };
}
