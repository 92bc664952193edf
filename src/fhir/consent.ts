import type { Consent } from 'fhir/r4.js';
import { DomainError } from '../domain/errors.js';
import { sharingAllowed, type RecordedConsent } from '../domain/consent.js';
import type { PhrConsent } from '../domain/model.js';
import { SYSTEMS, reference, referencedId } from './common.js';
import { identifierReference, identifierValue, oneOf, required, resourceId } from './fields.js';
import type { SearchParams } from '../store/fhirStore.js';

/** PhrConsent <-> Consent (mappings/consent.md): may this person's PHB be shared with a PHR app. */

/** PHR apps and their operators are known by a short name we configure, e.g. "patient-knows-best". */
export const RECIPIENT_SYSTEM = SYSTEMS.identifier('phr-recipient');
const STATUSES = ['active', 'inactive', 'rejected'] as const;

export function toFhir(consent: PhrConsent): Consent {
  return {
    resourceType: 'Consent',
    id: consent.id,
    status: consent.status,
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: reference('Patient', consent.budgetHolderId),
    dateTime: consent.dateTime,
    // Opt-in: nothing is shared unless the person said yes (status active).
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      actor: [
        {
          role: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                code: 'IRCP',
                display: 'information recipient',
              },
            ],
          },
          reference: identifierReference('Organization', RECIPIENT_SYSTEM, consent.recipient),
        },
      ],
    },
  };
}

export function fromFhir(consent: Consent): PhrConsent {
  const actors = consent.provision?.actor ?? [];
  const i = actors.findIndex((a) => a.role.coding?.some((c) => c.code === 'IRCP'));
  if (i < 0) throw new DomainError('/provision/actor', '/provision/actor must name the information recipient (IRCP)');
  return {
    id: resourceId(consent),
    budgetHolderId: referencedId(consent.patient, 'Patient', '/patient'),
    recipient: identifierValue(actors[i]?.reference, RECIPIENT_SYSTEM, `/provision/actor/${i}/reference`),
    status: oneOf(consent.status, STATUSES, '/status'),
    dateTime: required(consent.dateTime, '/dateTime'),
  };
}

/** The search for every sharing decision of a patient, latest first; `consentGrants` decides on its results. */
export function consentDecisionSearch(patientId: string): SearchParams {
  // Every status, not only active: a later withdrawal outranks an earlier yes.
  return { patient: `Patient/${patientId}`, _sort: '-date', _count: 100 };
}

/**
 * The consent rule, on Consents however they were fetched (every status): the person's latest decision
 * for this PHR app is a yes (src/domain/consent.ts). A malformed Consent is no decision at all.
 */
export function consentGrants(consents: readonly Consent[], patientId: string, clientId: string): boolean {
  return sharingAllowed(recordedDecisions(consents), patientId, clientId);
}

/** Stored Consents as recorded decisions (meta.lastUpdated: when each was recorded); one that does not map is left out. */
export function recordedDecisions(consents: readonly Consent[]): RecordedConsent[] {
  return consents.flatMap((c) => {
    try {
      return [{ consent: fromFhir(c), recordedAt: c.meta?.lastUpdated }];
    } catch {
      return [];
    }
  });
}
