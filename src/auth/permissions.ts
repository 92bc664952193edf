import type { Role } from './caller.js';
import type { Interaction } from './scopes.js';

/**
 * Who may do what: the one table. A request is allowed only when a row for the caller's role
 * names the resource and interaction, the token's scopes cover it, and the row's reach holds for
 * the patient concerned. Everything not listed is denied.
 *
 * Reach:
 * - `own`: the caller's own patient compartment (budget holder, representative).
 * - `own-consented`: own compartment, and only while the person's Consent to share with this
 *   app is active (PHR apps).
 * - `team`: patients the staff member's team looks after (a CareTeam they or their team are on,
 *   or a journey they lead); for a system client, patients on the caseload of a team it acts for
 *   (its token's `phb_team`), named in the request.
 * - `registered`: patients registered with the calling GP practice.
 * - `any`: no patient data (definitions such as Questionnaire, the publisher's delivery records).
 * - `import`: only through the EHR import (`POST /fhir`, src/api/fhir/ehrImportRoute.ts), which finds
 *   the person by NHS number itself and writes only records keyed by the sender's own identifiers
 *   (plus linking them to the person's journey, or starting a referral). Every other route refuses
 *   such a row, so the sender reads nothing and changes nothing it did not send.
 *
 * Commissioners and lived-experience reviewers get what the sign-off panel needs (plan, budget,
 * request, decision), not demographics or questionnaire answers.
 */
export type Reach = 'own' | 'own-consented' | 'team' | 'registered' | 'import' | 'any';

export interface Grant {
  resource: string;
  interactions: readonly Interaction[];
  reach: Reach;
}

const R: readonly Interaction[] = ['read'];
const RS: readonly Interaction[] = ['read', 'search'];
const CRS: readonly Interaction[] = ['create', 'read', 'search'];
const RUS: readonly Interaction[] = ['read', 'update', 'search'];
const CRUS: readonly Interaction[] = ['create', 'read', 'update', 'search'];

const grants = (reach: Reach, rows: [string, readonly Interaction[]][]): Grant[] =>
  rows.map(([resource, interactions]) => ({ resource, interactions, reach }));

const DEFINITIONS = grants('any', [['Questionnaire', RS]]);

/** What a clinician running the journey for their team's patients does. */
const CLINICAL_TEAM = [
  ...grants('team', [
    ['Patient', CRUS],
    ['RelatedPerson', CRUS],
    ['Consent', CRUS],
    ['EpisodeOfCare', CRUS],
    ['Coverage', CRUS],
    ['CarePlan', CRUS],
    ['Goal', CRUS],
    ['QuestionnaireResponse', CRUS],
    ['Observation', CRS],
    ['Task', CRUS],
    ['ServiceRequest', CRUS],
    ['DocumentReference', CRS],
    ['Provenance', CRS],
    ['Account', CRUS],
    ['ChargeItem', CRUS],
  ]),
  ...DEFINITIONS,
];

const PANEL = [
  ...grants('team', [
    ['CarePlan', RS],
    ['Coverage', RS],
    ['Task', RUS],
    ['Provenance', CRS],
    ['ChargeItem', RS],
  ]),
  ...DEFINITIONS,
];

/** What the person sees and does about their own PHB. */
const OWN = [
  ...grants('own', [
    ['Patient', R],
    ['RelatedPerson', RS],
    ['Consent', CRUS],
    ['EpisodeOfCare', RS],
    ['Coverage', RS],
    ['CarePlan', RS],
    ['Goal', RUS],
    ['QuestionnaireResponse', CRUS],
    ['Observation', RS],
    ['Task', RUS],
    ['ServiceRequest', RS],
    ['DocumentReference', CRS],
    ['Provenance', CRS],
  ]),
  ...DEFINITIONS,
];

export const PERMISSIONS: Readonly<Record<Role, readonly Grant[]>> = {
  'care-coordinator': CLINICAL_TEAM,
  'team-lead': CLINICAL_TEAM,
  'phb-lead-clinician': [
    ...PANEL,
    ...grants('team', [
      ['Patient', R],
      ['Goal', RS],
      ['EpisodeOfCare', RS],
    ]),
  ],
  'lived-experience-reviewer': [...PANEL, ...grants('team', [['Goal', RS]])],
  commissioner: PANEL,
  'phb-advisor': [
    ...grants('team', [
      ['Patient', R],
      ['Consent', RS],
      ['EpisodeOfCare', RS],
      ['Coverage', RS],
      ['CarePlan', RS],
      ['Goal', RS],
      ['Account', CRUS],
      ['ChargeItem', CRUS],
      ['DocumentReference', CRS],
    ]),
    ...DEFINITIONS,
  ],
  'budget-holder': OWN,
  representative: OWN,
  'phr-app': [
    ...grants('own-consented', [
      ['Patient', R],
      ['Consent', RS],
      ['CarePlan', RS],
      ['Goal', RUS],
      ['Coverage', RS],
      ['QuestionnaireResponse', CRUS],
      ['Observation', RS],
      ['Task', RUS],
      ['ServiceRequest', RS],
      // The journey's stage and dates, so the app can show where the person's PHB is.
      ['EpisodeOfCare', RS],
    ]),
    ...DEFINITIONS,
  ],
  'gp-system': [
    // Discharge documents for its registered patients, and goals sent in from primary care.
    ...grants('registered', [
      ['Patient', R],
      ['Bundle', R],
      ['DocumentReference', RS],
      ['Goal', ['create']],
    ]),
  ],
  // A secondary care EHR sending a person's goals (and its care plan) on discharge. It may send for
  // anyone it treats, which we cannot check per person, so its rows are `import`: usable by the
  // import alone, never a read. The Bundle row is the import itself; the others are what it writes.
  'ehr-system': grants('import', [
    ['Bundle', ['create']],
    ['Goal', ['create', 'update']],
    ['CarePlan', ['create', 'update']],
    ['Patient', ['create']],
    ['EpisodeOfCare', ['create']],
  ]),
  // Operations tooling for the outbound publisher: delivery status and dead letters (the
  // publisher's own Basic resources: ids, statuses and destinations' OperationOutcomes), read and
  // queued for replay. A separate role: it sees every destination's failures, which no clinical
  // role should need, and it reads no patient's record.
  'service-operator': grants('any', [['Basic', ['read', 'update', 'search']]]),
  // A system asking people to answer questionnaires for a clinical team (PKB's advanced questionnaire
  // clients call with client credentials): the requests, and the definitions, nothing of the record.
  'questionnaire-system': [...grants('team', [['ServiceRequest', ['create']]]), ...DEFINITIONS],
};

/** The row allowing this role this interaction on this resource, if any. */
export function grantFor(role: Role, resource: string, interaction: Interaction): Grant | undefined {
  return PERMISSIONS[role].find((g) => g.resource === resource && g.interactions.includes(interaction));
}
