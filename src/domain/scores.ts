import { DomainError } from './errors.js';

/** How one score is computed from a questionnaire's answers; loaded from the Questionnaire, never hard-coded. */
export interface ScoringRule {
  /** Name of the score, e.g. "total". */
  score: string;
  method: 'sum' | 'mean';
  /** linkIds of the items that count. */
  items: string[];
  minimum: number;
  maximum: number;
  /** The smallest change between two scores that counts as real, not noise. */
  meaningfulChange: number;
  higherIsBetter: boolean;
}

export type Trend = 'improved' | 'no-change' | 'worse';

/**
 * The score for one set of answers, or undefined when an item that counts is unanswered
 * (a partial score would not be comparable with a full one).
 */
export function computeScore(rule: ScoringRule, answers: Readonly<Record<string, number>>): number | undefined {
  const values = rule.items.map((linkId) => answers[linkId]);
  if (values.some((v) => v === undefined)) return undefined;
  const sum = (values as number[]).reduce((a, b) => a + b, 0);
  // Keep two decimals for means so scores stay exact enough to compare and to store.
  const score = rule.method === 'sum' ? sum : Math.round((sum / values.length) * 100) / 100;
  if (score < rule.minimum || score > rule.maximum) {
    throw new DomainError(`/${rule.score}`, `the ${rule.score} score ${score} is outside ${rule.minimum}-${rule.maximum}: an answer is out of range`);
  }
  return score;
}

export interface ScoreChange {
  score: string;
  first: number;
  latest: number;
  change: number;
  trend: Trend;
}

/** Start to latest, judged against the rule's threshold for meaningful change. */
export function scoreTrend(rule: ScoringRule, first: number, latest: number): ScoreChange {
  const change = Math.round((latest - first) * 100) / 100;
  const better = rule.higherIsBetter ? change : -change;
  const trend: Trend = Math.abs(change) < rule.meaningfulChange ? 'no-change' : better > 0 ? 'improved' : 'worse';
  return { score: rule.score, first, latest, change, trend };
}

/** Scores in time order: the trend from the earliest to the latest, or undefined with fewer than two. */
export function trendOver(rule: ScoringRule, series: readonly { time: string; value: number }[]): ScoreChange | undefined {
  if (series.length < 2) return undefined;
  const ordered = [...series].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return scoreTrend(rule, (ordered[0] as { value: number }).value, (ordered[ordered.length - 1] as { value: number }).value);
}
