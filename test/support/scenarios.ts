import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../src/config/config.js';
import type {
  Cohort,
  GoalAchievement,
  ManagementOption,
  PhbKind,
  ReviewPoint,
  SignOffRole,
  SpendCategory,
} from '../../src/domain/codes.js';
import type { Pence } from '../../src/domain/money.js';
import type { CalculationLine, ImpactAnswers } from '../../src/domain/model.js';

/** A journey from test/scenarios (copied from the shared scenario set). Amounts in pence. */
export interface Scenario {
  id: string;
  policy: string;
  person: { nhsNumber: string; name: string; birthDate: string; ethnicity?: string };
  representative?: { name: string; relationship: string };
  phb: {
    kind: PhbKind;
    cohort: Cohort;
    cluster?: number;
    rightToHave?: boolean;
    fastTrack?: string;
    managementOption: ManagementOption | 'mixed';
    split?: Partial<Record<ManagementOption, Pence>>;
    indicativeBudget: Pence;
    calculation?: string;
    calculationLines?: CalculationLine[];
  };
  needs?: { whatMattersToMe: string; strengths?: string[] };
  goals: { key: string; text: string }[];
  requests?: {
    key: string;
    item: string;
    category: SpendCategory;
    amount: Pence;
    goals: string[];
    provider?: string;
    expectSignOff?: SignOffRole[];
    expectRefused?: string;
  }[];
  panel?: { decisions: { role: SignOffRole; decision: 'approve' | 'decline' }[] };
  reviews?: { when: ReviewPoint; impact?: ImpactAnswers; goalProgress?: Record<string, GoalAchievement> }[];
  audit?: { every: string; quarters: { spent: Pence }[] };
  sharing?: { phrConsent: boolean };
  expect: Record<string, unknown>;
}

const dir = path.join(repoRoot, 'test', 'scenarios');

export function loadScenarios(): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Scenario);
}
