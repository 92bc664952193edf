import type { Bundle, FhirResource } from 'fhir/r4.js';
import { STAFF_ROLES } from '../domain/codes.js';
import { parseNhsNumber } from '../domain/nhsNumber.js';
import * as careTeam from '../fhir/careTeam.js';
import * as consent from '../fhir/consent.js';
import * as patient from '../fhir/patient.js';
import * as practitioner from '../fhir/practitioner.js';
import * as relatedPerson from '../fhir/relatedPerson.js';
import { DEV_IDENTITY } from '../config/config.js';
import { DEMO_GP_ODS, DEMO_PATIENT_ID } from './demo.js';

/**
 * The FHIR records behind the demo users, so that each can sign in and see what their role
 * allows. Fictional person, NHS number in the 999 test range. Development only.
 */
export function demoResources(now: string): (FhirResource & { id: string })[] {
  const staff = STAFF_ROLES.flatMap((role) => {
    const { practitioner: p, role: pr } = practitioner.toFhir({
      id: `demo-${role}`,
      name: `Demo ${role}`,
      role,
      organisationOds: 'RDEMO',
    });
    return [
      { ...p, id: `demo-${role}` },
      { ...pr, id: `demo-${role}` },
    ];
  });
  return [
    {
      ...patient.toFhir({
        id: DEMO_PATIENT_ID,
        nhsNumber: parseNhsNumber('9990000018'),
        name: 'Demo Budget-Holder',
        birthDate: '1985-04-01',
        gpPracticeOds: DEMO_GP_ODS,
      }),
      id: DEMO_PATIENT_ID,
    },
    {
      ...relatedPerson.toFhir({
        id: 'demo-representative',
        budgetHolderId: DEMO_PATIENT_ID,
        name: 'Demo Representative',
        relationship: 'sister',
        nominee: false,
      }),
      id: 'demo-representative',
    },
    ...staff,
    careTeam.toFhir({
      id: 'demo-care-team',
      budgetHolderId: DEMO_PATIENT_ID,
      memberIds: STAFF_ROLES.map((r) => `demo-${r}`),
      active: true,
    }),
    {
      ...consent.toFhir({
        id: 'demo-phr-consent',
        budgetHolderId: DEMO_PATIENT_ID,
        recipient: DEV_IDENTITY.phrAppClient,
        status: 'active',
        dateTime: now,
      }),
      id: 'demo-phr-consent',
    },
  ];
}

/** One transaction of PUTs by id: running it again changes nothing. */
export function demoTransaction(now: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: demoResources(now).map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}
