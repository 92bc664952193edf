/**
 * What the /fhir facade serves of a person's record, per resource type: which search parameters
 * name the patient (the compartment), which other parameters are understood, and which
 * _include/_revinclude it follows. Everything not listed is refused (400), never ignored, so a
 * client cannot believe a filter was applied when it was not. The routes, the search checks and
 * /fhir/metadata are all derived from this table.
 */
export type SearchParamType = 'reference' | 'token' | 'string' | 'date' | 'uri' | 'number';

export interface SearchParamSpec {
  name: string;
  type: SearchParamType;
  /** What /fhir/metadata says of it, where its name does not say enough. */
  documentation?: string;
}

export interface ServedType {
  type: string;
  /**
   * Parameters that name the patient whose compartment is searched (R4 Patient compartment;
   * Task by `for`, as REFERENCE.md says). The facade sends HAPI `patient=Patient/<id>` itself.
   * Absent for definitions (Questionnaire), which belong to no one.
   */
  compartment?: readonly string[];
  params: readonly SearchParamSpec[];
  /** Searched only: a record of this type is not read by id on /fhir. */
  searchOnly?: boolean;
  /** `_include` values and the type each brings in. */
  include?: Readonly<Record<string, string>>;
  /** `_revinclude` values and the type each brings in. */
  revinclude?: Readonly<Record<string, string>>;
}

const p = (type: SearchParamType, ...names: string[]): SearchParamSpec[] => names.map((name) => ({ name, type }));

/** Parameters every type understands (besides _count, _offset, _sort, _format, _include, _revinclude). */
const COMMON: readonly SearchParamSpec[] = [...p('token', '_id'), ...p('date', '_lastUpdated')];

export const SERVED_TYPES: readonly ServedType[] = [
  {
    type: 'CarePlan',
    compartment: ['patient', 'subject'],
    params: [...COMMON, ...p('token', 'status', 'intent', 'category'), ...p('date', 'date'), ...p('reference', 'goal')],
    include: { 'CarePlan:goal': 'Goal', 'CarePlan:patient': 'Patient' },
    revinclude: { 'Goal:subject': 'Goal' },
  },
  {
    type: 'Goal',
    compartment: ['patient', 'subject'],
    params: [
      ...COMMON,
      ...p('token', 'lifecycle-status', 'achievement-status'),
      ...p('date', 'start-date', 'target-date'),
    ],
    include: { 'Goal:patient': 'Patient' },
    revinclude: { 'CarePlan:goal': 'CarePlan' },
  },
  {
    type: 'Coverage',
    compartment: ['patient', 'beneficiary'],
    params: [...COMMON, ...p('token', 'status', 'type')],
    include: { 'Coverage:beneficiary': 'Patient' },
  },
  {
    type: 'EpisodeOfCare',
    compartment: ['patient'],
    params: [...COMMON, ...p('token', 'status', 'type'), ...p('date', 'date')],
    include: { 'EpisodeOfCare:patient': 'Patient' },
  },
  {
    // The person's consents to sharing with PHR apps: a PHR app asks for them to know where it stands.
    type: 'Consent',
    compartment: ['patient'],
    searchOnly: true,
    params: [...COMMON],
  },
  {
    type: 'Questionnaire',
    params: [...COMMON, ...p('uri', 'url'), ...p('token', 'status', 'version'), ...p('string', 'name', 'title')],
  },
  {
    type: 'QuestionnaireResponse',
    compartment: ['patient', 'subject'],
    params: [
      ...COMMON,
      ...p('token', 'status'),
      ...p('date', 'authored'),
      ...p('reference', 'questionnaire', 'based-on'),
    ],
    include: {
      'QuestionnaireResponse:questionnaire': 'Questionnaire',
      'QuestionnaireResponse:based-on': 'ServiceRequest',
    },
    revinclude: { 'Observation:derived-from': 'Observation' },
  },
  {
    type: 'Observation',
    compartment: ['patient', 'subject'],
    params: [
      ...COMMON,
      ...p('token', 'status', 'code', 'category'),
      ...p('date', 'date'),
      ...p('reference', 'derived-from', 'based-on'),
    ],
    include: { 'Observation:derived-from': 'QuestionnaireResponse', 'Observation:based-on': 'ServiceRequest' },
  },
  {
    type: 'ServiceRequest',
    compartment: ['patient', 'subject'],
    params: [...COMMON, ...p('token', 'status', 'intent'), ...p('date', 'authored')],
    revinclude: { 'QuestionnaireResponse:based-on': 'QuestionnaireResponse' },
  },
  {
    // Discharge documents (type SNOMED 373942005) and signed agreements; a GP system lists its registered patients' documents here.
    type: 'DocumentReference',
    compartment: ['patient', 'subject'],
    params: [...COMMON, ...p('token', 'type', 'status', 'identifier'), ...p('date', 'date')],
  },
  {
    type: 'Task',
    compartment: ['patient', 'subject'],
    params: [
      ...COMMON,
      ...p('token', 'status', 'business-status', 'code', 'intent'),
      ...p('date', 'authored-on'),
      ...p('reference', 'focus'),
    ],
  },
];

export function servedType(type: string): ServedType | undefined {
  return SERVED_TYPES.find((t) => t.type === type);
}
