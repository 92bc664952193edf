import type { EpisodeOfCare, Extension } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import {
  CLOSURE_REASONS,
  COHORTS,
  JOURNEY_STAGES,
  PHB_KINDS,
  type ClosureReason as ClosureReasonCode,
  type JourneyStage,
} from '../domain/codes.js';
import type { Eligibility, PhbJourney } from '../domain/model.js';
import { SYSTEMS, codeFrom, coding, concept, extension, reference, referencedId } from './common.js';
import { extensionAt, opt, requireBoolean, required, resourceId, subExtension } from './fields.js';

/** PhbJourney <-> EpisodeOfCare (mappings/journey.md). */

export const PROFILE = SYSTEMS.profile('phb-episodeofcare');
export const STAGE_EXTENSION = 'phb-journey-stage';
export const ELIGIBILITY_EXTENSION = 'phb-eligibility';
export const CLOSURE_REASON_EXTENSION = 'phb-closure-reason';

type ClosureReason = NonNullable<PhbJourney['closureReason']>;
// Fails to compile if the model's reasons and the vocabulary's drift apart.
const _sameReasons: [ClosureReason, ClosureReasonCode] extends [ClosureReasonCode, ClosureReason] ? true : never = true;

type EpisodeStatus = EpisodeOfCare['status'];
/**
 * FHIR's coarse status for each step. The exact stage travels in phb-journey-stage; the status is
 * what generic EHRs and PHR apps understand: waiting for an eligibility decision is "planned", a
 * person working through the steps with a lead contact is on the active caseload.
 */
export const STATUS_FOR_STAGE: Record<JourneyStage, EpisodeStatus> = {
  referred: 'planned',
  eligible: 'active',
  'not-eligible': 'cancelled',
  'needs-assessed': 'active',
  'budget-indicated': 'active',
  planning: 'active',
  'plan-agreed': 'active',
  active: 'active',
  'in-review': 'active',
  closed: 'finished',
};

function eligibilityExtension(e: Eligibility): Extension {
  const parts: Extension[] = [
    { url: 'eligible', valueBoolean: e.eligible },
    { url: 'rightToHave', valueBoolean: e.rightToHave },
    ...(e.cluster !== undefined ? [{ url: 'cluster', valueInteger: e.cluster }] : []),
    ...(e.readyForDischarge !== undefined ? [{ url: 'readyForDischarge', valueBoolean: e.readyForDischarge }] : []),
    ...(e.fastTrack !== undefined ? [{ url: 'fastTrack', valueString: e.fastTrack }] : []),
    ...(e.decidedOn !== undefined ? [{ url: 'decidedOn', valueDate: e.decidedOn }] : []),
    ...(e.reason !== undefined ? [{ url: 'reason', valueString: e.reason }] : []),
  ];
  return extension(ELIGIBILITY_EXTENSION, { extension: parts });
}

export function toFhir(journey: PhbJourney): EpisodeOfCare {
  return {
    resourceType: 'EpisodeOfCare',
    id: journey.id,
    meta: { profile: [PROFILE] },
    extension: [
      extension(STAGE_EXTENSION, { valueCoding: coding('journey-stage', journey.stage) }),
      eligibilityExtension(journey.eligibility),
      ...(journey.closureReason !== undefined
        ? [extension(CLOSURE_REASON_EXTENSION, { valueCoding: coding('phb-closure-reason', journey.closureReason) })]
        : []),
    ],
    status: STATUS_FOR_STAGE[journey.stage],
    type: [concept('phb-kind', journey.kind), concept('phb-cohort', journey.cohort)],
    patient: reference('Patient', journey.budgetHolderId),
    ...(journey.managingOrganisationId !== undefined
      ? { managingOrganization: reference('Organization', journey.managingOrganisationId) }
      : {}),
    period: { start: journey.start, ...opt('end', journey.end) },
    ...(journey.leadContactId !== undefined ? { careManager: reference('Practitioner', journey.leadContactId) } : {}),
  };
}

function eligibilityFrom(episode: EpisodeOfCare): Eligibility {
  const found = extensionAt(episode.extension, ELIGIBILITY_EXTENSION);
  if (!found) throw new DomainError('/extension', `/extension must hold ${SYSTEMS.extension(ELIGIBILITY_EXTENSION)}`);
  const part = (name: string): { ext: Extension; at: string } | undefined => subExtension(found, name);
  const flag = (name: string): boolean | undefined => {
    const p = part(name);
    return p ? requireBoolean(p.ext.valueBoolean, `${p.at}/valueBoolean`) : undefined;
  };
  const text = (name: string, read: (e: Extension) => string | undefined): string | undefined => {
    const p = part(name);
    return p ? required(read(p.ext), `${p.at}/value`) : undefined;
  };
  const cluster = part('cluster');
  return {
    eligible: required(flag('eligible'), `${found.at}/extension (eligible)`),
    rightToHave: required(flag('rightToHave'), `${found.at}/extension (rightToHave)`),
    ...opt('cluster', cluster ? required(cluster.ext.valueInteger, `${cluster.at}/valueInteger`) : undefined),
    ...opt('readyForDischarge', flag('readyForDischarge')),
    ...opt(
      'fastTrack',
      text('fastTrack', (e) => e.valueString),
    ),
    ...opt(
      'decidedOn',
      text('decidedOn', (e) => e.valueDate),
    ),
    ...opt(
      'reason',
      text('reason', (e) => e.valueString),
    ),
  };
}

function stageFrom(episode: EpisodeOfCare): JourneyStage {
  const found = extensionAt(episode.extension, STAGE_EXTENSION);
  const at = found ? `${found.at}/valueCoding` : `/extension (${STAGE_EXTENSION})`;
  const stage = codeFrom(
    found?.ext.valueCoding ? [found.ext.valueCoding] : undefined,
    'journey-stage',
    JOURNEY_STAGES,
    at,
  );
  // A status that contradicts the stage means someone changed one without the other.
  if (episode.status !== STATUS_FOR_STAGE[stage]) {
    throw new DomainError(
      '/status',
      `/status must be ${STATUS_FOR_STAGE[stage]} for journey stage ${stage} (got ${episode.status})`,
    );
  }
  return stage;
}

function closureReasonFrom(episode: EpisodeOfCare): ClosureReason | undefined {
  const found = extensionAt(episode.extension, CLOSURE_REASON_EXTENSION);
  if (!found) return undefined;
  return codeFrom(
    found.ext.valueCoding ? [found.ext.valueCoding] : undefined,
    'phb-closure-reason',
    CLOSURE_REASONS,
    `${found.at}/valueCoding`,
  );
}

export function fromFhir(episode: EpisodeOfCare): PhbJourney {
  return {
    id: resourceId(episode),
    budgetHolderId: referencedId(episode.patient, 'Patient', '/patient'),
    kind: codeFrom(episode.type, 'phb-kind', PHB_KINDS, '/type'),
    cohort: codeFrom(episode.type, 'phb-cohort', COHORTS, '/type'),
    stage: stageFrom(episode),
    eligibility: eligibilityFrom(episode),
    ...opt(
      'leadContactId',
      episode.careManager ? referencedId(episode.careManager, 'Practitioner', '/careManager') : undefined,
    ),
    ...opt(
      'managingOrganisationId',
      episode.managingOrganization
        ? referencedId(episode.managingOrganization, 'Organization', '/managingOrganization')
        : undefined,
    ),
    start: required(episode.period?.start, '/period/start'),
    ...opt('end', episode.period?.end),
    ...opt('closureReason', closureReasonFrom(episode)),
  };
}
