import type { DocumentReference, Provenance } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import { SIGN_OFF_ROLES } from '../domain/codes.js';
import type { Agreement, DecisionOutcome, SignOffDecision } from '../domain/model.js';
import { codeFrom, coding, concept, extension, reference, referencedId } from './common.js';
import * as documentReference from './documentReference.js';
import { extensionAt, opt, required, resourceId } from './fields.js';

/**
 * Who decided what, when and why (mappings/decision.md, mappings/agreement.md): a sign-off
 * decision on a spend request, or the person signing their direct payment agreement.
 */

/** One signer's decision on one spend request (the request is the sign-off Task with the request's id). */
export interface DecisionRecord {
  kind: 'sign-off';
  id: string;
  requestId: string;
  decision: SignOffDecision;
}

export interface AgreementRecord {
  kind: 'agreement';
  agreement: Agreement;
}

export type ProvenanceRecord = DecisionRecord | AgreementRecord;

export const ALTERNATIVES_EXTENSION = 'phb-decision-alternatives';
/** A decision's activity is its outcome, from the sign-off-outcome CodeSystem the sign-off Task uses too. */
const OUTCOMES = ['approve', 'decline'] as const satisfies readonly DecisionOutcome[];
/** Signing the agreement: HL7's "legally authenticated" document completion. */
const DOCUMENT_COMPLETION = 'http://terminology.hl7.org/CodeSystem/v3-DocumentCompletion';
const LEGALLY_AUTHENTICATED = 'LA';
const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';

function decisionToFhir({ id, requestId, decision }: DecisionRecord): Provenance {
  return {
    resourceType: 'Provenance',
    id,
    ...(decision.alternatives !== undefined
      ? { extension: [extension(ALTERNATIVES_EXTENSION, { valueString: decision.alternatives })] }
      : {}),
    target: [reference('Task', requestId)],
    occurredDateTime: decision.time,
    recorded: decision.time,
    reason: [{ text: decision.rationale }],
    activity: { coding: [coding('sign-off-outcome', decision.outcome)] },
    agent: [
      {
        // The signer verifies the request is right for the person and within the rules.
        type: { coding: [{ system: PARTICIPANT_TYPE, code: 'verifier' }] },
        role: [concept('staff-role', decision.role)],
        who: reference('Practitioner', decision.decidedBy),
      },
    ],
  };
}

function agreementToFhir({ agreement }: AgreementRecord): Provenance {
  const signer = documentReference.signerReference(agreement);
  const forSomeoneElse = agreement.signedBy !== agreement.budgetHolderId;
  return {
    resourceType: 'Provenance',
    id: agreement.id,
    target: [reference('DocumentReference', agreement.id)],
    occurredDateTime: agreement.signed,
    recorded: agreement.signed,
    activity: {
      coding: [{ system: DOCUMENT_COMPLETION, code: LEGALLY_AUTHENTICATED, display: 'legally authenticated' }],
    },
    agent: [
      {
        // The signer accepts legal responsibility for the terms.
        type: { coding: [{ system: PARTICIPANT_TYPE, code: 'legal' }] },
        who: signer,
        ...(forSomeoneElse ? { onBehalfOf: reference('Patient', agreement.budgetHolderId) } : {}),
      },
    ],
    signature: [
      {
        type: [{ system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.7', display: 'Consent Signature' }],
        when: agreement.signed,
        who: signer,
      },
    ],
  };
}

export function toFhir(record: ProvenanceRecord): Provenance {
  return record.kind === 'sign-off' ? decisionToFhir(record) : agreementToFhir(record);
}

function decisionFromFhir(p: Provenance, outcome: DecisionOutcome): DecisionRecord {
  const agent = p.agent[0];
  const alternatives = extensionAt(p.extension, ALTERNATIVES_EXTENSION);
  return {
    kind: 'sign-off',
    id: resourceId(p),
    requestId: referencedId(p.target[0], 'Task', '/target/0'),
    decision: {
      role: codeFrom(agent?.role, 'staff-role', SIGN_OFF_ROLES, '/agent/0/role'),
      decidedBy: referencedId(agent?.who, 'Practitioner', '/agent/0/who'),
      outcome,
      time: required(p.occurredDateTime ?? p.recorded, '/occurredDateTime'),
      rationale: required(p.reason?.[0]?.text, '/reason/0/text'),
      ...opt(
        'alternatives',
        alternatives ? required(alternatives.ext.valueString, `${alternatives.at}/valueString`) : undefined,
      ),
    },
  };
}

/** The agreement's words live in the DocumentReference; the Provenance must agree with it on who and when. */
function agreementFromFhir(p: Provenance, doc: DocumentReference | undefined): AgreementRecord {
  if (!doc)
    throw new DomainError('/target/0', '/target/0: the signed DocumentReference is needed to read an agreement');
  const agreement = documentReference.fromFhir(doc);
  if (referencedId(p.target[0], 'DocumentReference', '/target/0') !== agreement.id) {
    throw new DomainError('/target/0', `/target/0 must reference DocumentReference/${agreement.id}`);
  }
  if (documentReference.signerId(p.agent[0]?.who, '/agent/0/who') !== agreement.signedBy) {
    throw new DomainError('/agent/0/who', '/agent/0/who must be the person who signed the agreement');
  }
  if ((p.occurredDateTime ?? p.recorded) !== agreement.signed) {
    throw new DomainError('/occurredDateTime', '/occurredDateTime must be when the agreement was signed');
  }
  return { kind: 'agreement', agreement };
}

export function fromFhir(p: Provenance, agreementDocument?: DocumentReference): ProvenanceRecord {
  const signed = p.activity?.coding?.some((c) => c.system === DOCUMENT_COMPLETION && c.code === LEGALLY_AUTHENTICATED);
  return signed
    ? agreementFromFhir(p, agreementDocument)
    : decisionFromFhir(p, codeFrom(p.activity, 'sign-off-outcome', OUTCOMES, '/activity'));
}
