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
    throw new DomainError(
      `/${rule.score}`,
      `the ${rule.score} score ${score} is outside ${rule.minimum}-${rule.maximum}: an answer is out of range`,
    );
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
export function trendOver(
  rule: ScoringRule,
  series: readonly { time: string; value: number }[],
): ScoreChange | undefined {
  if (series.length < 2) return undefined;
  const ordered = [...series].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return scoreTrend(
    rule,
    (ordered[0] as { value: number }).value,
    (ordered[ordered.length - 1] as { value: number }).value,
  );
}

/** One score of one set of answers, as stored (an Observation derived from the response). */
export interface QuestionnaireScore {
  id: string;
  budgetHolderId: string;
  /** The PHB journey the answers belong to, when known. */
  journeyId?: string;
  /** Canonical URL of the Questionnaire, without version. */
  questionnaire: string;
  questionnaireVersion?: string;
  /** The score's name in the Questionnaire's scoring rule, e.g. "total". */
  score: string;
  value: number;
  /** When the answers were given. */
  time: string;
  /** The QuestionnaireResponse the score was computed from. */
  responseId: string;
  /** The questionnaire request (ServiceRequest) the answers were asked for, if any. */
  requestId?: string;
}

/** What every score of one response is about (the same for each of its rules). */
export type ScoredResponse = Omit<QuestionnaireScore, 'id' | 'score' | 'value'>;

/**
 * The scores one set of answers earns under its questionnaire's rules: one per rule whose items are all
 * answered. The one scoring path, whichever face recorded the answers (a PHR app's or a staff review).
 */
export function scoresOf(
  rules: readonly ScoringRule[],
  answers: Readonly<Record<string, number>>,
  about: ScoredResponse,
  newId: () => string,
): QuestionnaireScore[] {
  return rules.flatMap((rule) => {
    const value = computeScore(rule, answers);
    return value === undefined ? [] : [{ ...about, id: newId(), score: rule.score, value }];
  });
}

/** A score series: one questionnaire's one score, within one PHB journey. */
export interface ScoreSeriesKey {
  journeyId?: string;
  questionnaire: string;
  score: string;
}

export interface SeriesTrend extends ScoreSeriesKey {
  /** Start to latest; undefined while there is only one score. */
  change?: ScoreChange;
  latest: { value: number; time: string; id: string };
  count: number;
}

/**
 * Start -> latest per journey, questionnaire and score, judged with the questionnaire's own
 * rule. A series whose questionnaire has no rule (any more) is reported without a trend.
 */
export function trendsBySeries(
  scores: readonly QuestionnaireScore[],
  ruleFor: (questionnaire: string, score: string) => ScoringRule | undefined,
): SeriesTrend[] {
  const groups = new Map<string, QuestionnaireScore[]>();
  for (const s of scores) {
    const key = JSON.stringify([s.journeyId ?? null, s.questionnaire, s.score]);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()]
    .map((series) => {
      const ordered = [...series].sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id));
      const first = ordered[0] as QuestionnaireScore;
      const last = ordered[ordered.length - 1] as QuestionnaireScore;
      const rule = ruleFor(first.questionnaire, first.score);
      return {
        ...(first.journeyId !== undefined ? { journeyId: first.journeyId } : {}),
        questionnaire: first.questionnaire,
        score: first.score,
        ...(rule && ordered.length > 1 ? { change: scoreTrend(rule, first.value, last.value) } : {}),
        latest: { value: last.value, time: last.time, id: last.id },
        count: ordered.length,
      };
    })
    .sort(
      (a, b) =>
        a.questionnaire.localeCompare(b.questionnaire) ||
        a.score.localeCompare(b.score) ||
        (a.journeyId ?? '').localeCompare(b.journeyId ?? ''),
    );
}
