import type { Identifier, ServiceRequest } from 'fhir/r4.js';
import { QUESTIONNAIRE_AMENDABLE_BY } from '../domain/codes.js';
import { DomainError } from '../domain/errors.js';
import type { QuestionnaireRequest } from '../domain/model.js';
import { CANONICAL_BASE, reference, referencedId, SYSTEMS } from './common.js';
import { oneOf, opt, required, resourceId } from './fields.js';

/**
 * QuestionnaireRequest <-> ServiceRequest (mappings/questionnaire-request.md), shaped as Patient
 * Knows Best's advanced questionnaires shape theirs, so one client can read either.
 */

/** FHIR R4 core extension PKB uses to name the Questionnaire being asked for. */
export const QUESTIONNAIRE_REQUEST_EXTENSION =
  'http://hl7.org/fhir/StructureDefinition/servicerequest-questionnaireRequest';
/** Who may amend completed answers, one extension per who, as PKB records its amendableBy. */
export const AMENDABLE_BY_EXTENSION = `${CANONICAL_BASE}/StructureDefinition/questionnaire-amendable-by`;
const STATUSES = ['active', 'completed', 'revoked'] as const;

export function toFhir(request: QuestionnaireRequest): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    id: request.id,
    extension: [
      { url: QUESTIONNAIRE_REQUEST_EXTENSION, valueReference: reference('Questionnaire', request.questionnaire) },
      ...(request.amendableBy ?? []).map((valueCode) => ({ url: AMENDABLE_BY_EXTENSION, valueCode })),
    ],
    status: request.status,
    intent: 'order',
    code: { text: 'Questionnaire' },
    subject: reference('Patient', request.budgetHolderId),
    authoredOn: request.authored,
    ...(request.requestedBy !== undefined ? { requester: reference('Practitioner', request.requestedBy) } : {}),
  };
}

export function fromFhir(request: ServiceRequest): QuestionnaireRequest {
  const i = request.extension?.findIndex((e) => e.url === QUESTIONNAIRE_REQUEST_EXTENSION) ?? -1;
  if (i < 0)
    throw new DomainError('/extension', `/extension must name the Questionnaire (${QUESTIONNAIRE_REQUEST_EXTENSION})`);
  const amendableBy = (request.extension ?? []).flatMap((e, j) =>
    e.url === AMENDABLE_BY_EXTENSION
      ? [oneOf(e.valueCode, QUESTIONNAIRE_AMENDABLE_BY, `/extension/${j}/valueCode`)]
      : [],
  );
  return {
    id: resourceId(request),
    budgetHolderId: referencedId(request.subject, 'Patient', '/subject'),
    questionnaire: referencedId(
      request.extension?.[i]?.valueReference,
      'Questionnaire',
      `/extension/${i}/valueReference`,
    ),
    ...opt('amendableBy', amendableBy.length > 0 ? amendableBy : undefined),
    ...opt(
      'requestedBy',
      request.requester ? referencedId(request.requester, 'Practitioner', '/requester') : undefined,
    ),
    status: oneOf(request.status, STATUSES, '/status'),
    authored: required(request.authoredOn, '/authoredOn'),
  };
}

/** Identifier system of the key that makes a questionnaire request idempotent (src/domain/questionnaireRequests.ts). */
export const REQUEST_KEY_SYSTEM = SYSTEMS.identifier('questionnaire-request');

/** The request with its idempotency key, and the client's own identifier (PKB additionalIdentifier) if given. */
export function withRequestKey(request: ServiceRequest, key: string, additional?: Identifier): ServiceRequest {
  return { ...request, identifier: [{ system: REQUEST_KEY_SYSTEM, value: key }, ...(additional ? [additional] : [])] };
}

/** The conditional-create query that finds the open request with this key. */
export function openRequestQuery(key: string): string {
  return `identifier=${encodeURIComponent(`${REQUEST_KEY_SYSTEM}|${key}`)}&status=active`;
}
