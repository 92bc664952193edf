import type { Questionnaire, QuestionnaireResponse } from 'fhir/r4.js';
import type { FhirStore } from '../store/fhirStore.js';
import type { ScoringRule } from '../domain/scores.js';
import { scoringRules } from '../fhir/questionnaire.js';
import { log } from '../log/logger.js';
import { DomainError } from '../domain/errors.js';
import { AppError } from '../outcome/errors.js';
import { answerValueSets, codedAnswer, codedAnswers, type AllowedAnswers } from '../fhir/questionnaireValidation.js';

/**
 * Questionnaires by canonical URL. Reading them is not personal data, and HAPI cannot follow a
 * canonical reference from an included resource, so the scoring rules and titles seen are kept
 * for a short while instead of searched for on every request. Writes (validating answers) always
 * read the Questionnaire fresh.
 */
const TTL_MS = 60_000;

/** What the facade keeps of a Questionnaire: its scoring rules and the title documents show. */
export interface Described {
  rules: ScoringRule[];
  title?: string;
}

interface Cached extends Described {
  at: number;
}

export class QuestionnaireCatalog {
  private readonly known = new Map<string, Cached>();
  /**
   * `valueSet#system|code` -> when HAPI said the value set holds the code. Only held codes are kept: they are
   * bounded by the value sets, the codes clients send that are refused are not.
   */
  private readonly heldCodes = new Map<string, number>();

  constructor(private readonly store: FhirStore) {}

  /** The Questionnaire a canonical (`url` or `url|version`) names: the newest version when none is given. */
  async find(canonical: string): Promise<Questionnaire | undefined> {
    const [url, version] = canonical.split('|') as [string, string | undefined];
    const found = await this.store.search<Questionnaire>('Questionnaire', {
      url,
      ...(version ? { version } : {}),
      _sort: '-_lastUpdated',
      _count: 1,
    });
    const questionnaire = found.entry?.[0]?.resource;
    return questionnaire?.resourceType === 'Questionnaire' ? questionnaire : undefined;
  }

  /** Scoring rules of the questionnaires named, by canonical URL (without version). */
  async rulesFor(urls: Iterable<string>): Promise<Map<string, ScoringRule[]>> {
    return new Map([...(await this.describe(urls))].map(([url, d]) => [url, d.rules]));
  }

  /** Scoring rules and title of the questionnaires named, by canonical URL: one search each at most, then kept a while. */
  async describe(urls: Iterable<string>): Promise<Map<string, Described>> {
    const now = Date.now();
    const result = new Map<string, Described>();
    await Promise.all(
      [...new Set(urls)].map(async (url) => {
        const cached = this.known.get(url);
        if (cached && now - cached.at < TTL_MS) {
          result.set(url, cached);
          return;
        }
        const questionnaire = await this.find(url);
        let rules: ScoringRule[] = [];
        try {
          rules = questionnaire ? scoringRules(questionnaire) : [];
        } catch {
          log().warn('questionnaire scoring rule unusable', { questionnaire: questionnaire?.id });
        }
        const title = questionnaire?.title ?? questionnaire?.name;
        const described: Described = { rules, ...(title !== undefined ? { title } : {}) };
        this.known.set(url, { at: now, ...described });
        result.set(url, described);
      }),
    );
    return result;
  }

  /**
   * Which of the response's coded answers each of the questionnaire's answer value sets holds, asked of
   * HAPI (ValueSet/$validate-code, expanded in memory there) and kept a while: value sets are conformance
   * resources, loaded at start-up. One HAPI does not know is a fault of this service's configuration, not
   * of the answers: 500, nothing stored.
   */
  async allowedAnswers(questionnaire: Questionnaire, response: QuestionnaireResponse): Promise<AllowedAnswers> {
    const now = Date.now();
    const allowed = new Map<string, Set<string>>(answerValueSets(questionnaire).map((url) => [url, new Set()]));
    await Promise.all(
      codedAnswers(questionnaire, response).map(async ({ valueSet, system, code }) => {
        const key = `${valueSet}#${codedAnswer(system, code)}`;
        let holds = now - (this.heldCodes.get(key) ?? -Infinity) < TTL_MS;
        if (!holds) {
          try {
            holds = await this.store.validateCode(valueSet, system, code);
          } catch (e) {
            if (!(e instanceof AppError) || e.status === 503) throw e;
            log().error('answer value set cannot be checked', { questionnaire: questionnaire.id, status: e.status });
            throw new AppError(500, {
              code: 'exception',
              diagnostics: 'The answers this questionnaire allows cannot be checked just now',
            });
          }
          if (holds) this.heldCodes.set(key, now);
        }
        if (holds) allowed.get(valueSet)?.add(codedAnswer(system, code));
      }),
    );
    return allowed;
  }
}

const catalogs = new WeakMap<FhirStore, QuestionnaireCatalog>();

/** One catalog per store, so the cache lives as long as the app. */
export function catalogOf(store: FhirStore): QuestionnaireCatalog {
  let catalog = catalogs.get(store);
  if (!catalog) {
    catalog = new QuestionnaireCatalog(store);
    catalogs.set(store, catalog);
  }
  return catalog;
}

/**
 * A Questionnaire's scoring rules, for a write about to score answers: a rule that cannot be read is a
 * fault of this service's conformance resources (500), never of the answers.
 */
export function rulesForScoring(questionnaire: Questionnaire): ScoringRule[] {
  try {
    return scoringRules(questionnaire);
  } catch (e) {
    if (e instanceof DomainError)
      throw new AppError(500, { code: 'exception', diagnostics: "The questionnaire's scoring rule is unusable" });
    throw e;
  }
}

/** Which questionnaire (canonical URL without version, and its version) a score answering `canonical` names. */
export function scoredQuestionnaire(
  questionnaire: Questionnaire,
  canonical: string,
): { questionnaire: string; questionnaireVersion?: string } {
  const [url, version] = (questionnaire.url ?? canonical).split('|') as [string, string | undefined];
  const questionnaireVersion = questionnaire.version ?? version;
  return { questionnaire: url, ...(questionnaireVersion ? { questionnaireVersion } : {}) };
}
