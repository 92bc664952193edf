import type { Bundle } from 'fhir/r4.js';

export const EHR_GOAL_SYSTEM = 'https://ehr.example-trust.nhs.uk/Id/goal';

/** A transaction Bundle as a secondary care EHR sends it on discharge. */
export function ehrBundle(
  nhsNumber: string,
  goals: { id: string; text: string; achievement?: string }[],
  withPlan = false,
): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:2f0c1e4a-6a55-4e0b-9d3c-0e5b3f6a1c11',
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber }],
        },
        request: { method: 'POST', url: 'Patient' },
      },
      ...goals.map((g) => ({
        resource: {
          resourceType: 'Goal' as const,
          identifier: [{ system: EHR_GOAL_SYSTEM, value: g.id }],
          lifecycleStatus: 'active' as const,
          ...(g.achievement
            ? {
                achievementStatus: {
                  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/goal-achievement', code: g.achievement }],
                },
              }
            : {}),
          description: { text: g.text },
          subject: { reference: 'urn:uuid:2f0c1e4a-6a55-4e0b-9d3c-0e5b3f6a1c11' },
          startDate: '2026-05-01',
        },
        request: { method: 'POST' as const, url: 'Goal' },
      })),
      ...(withPlan
        ? [
            {
              resource: {
                resourceType: 'CarePlan' as const,
                identifier: [{ system: 'https://ehr.example-trust.nhs.uk/Id/careplan', value: 'CP-7' }],
                status: 'active' as const,
                intent: 'plan' as const,
                title: 'Community recovery plan',
                subject: { reference: 'urn:uuid:2f0c1e4a-6a55-4e0b-9d3c-0e5b3f6a1c11' },
              },
              request: { method: 'POST' as const, url: 'CarePlan' },
            },
          ]
        : []),
    ],
  };
}
