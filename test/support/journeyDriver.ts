import type { Express } from 'express';
import type { Practitioner, PractitionerRole } from 'fhir/r4.js';
import request from 'supertest';
import type { DemoUser } from '../../src/devIdentity/provider.js';
import * as practitioner from '../../src/fhir/practitioner.js';
import type { HapiStore } from '../../src/store/hapiStore.js';
import { CLIENTS, type AuthWorld } from './authWorld.js';
import { freshNhsNumber, uniqueId } from './hapi.js';
import { PASSWORD } from './identity.js';

/**
 * Extra people for journey tests, known to the identity provider from the start: a second care
 * coordinator who submits requests (nobody signs their own), and person accounts whose claims are
 * filled in once the referral has created their Patient.
 */
export interface JourneyPeople {
  submitterRoleId: string;
  users: DemoUser[];
  persons: DemoUser[];
}

export function journeyPeople(personCount: number): JourneyPeople {
  const suffix = uniqueId('j');
  const submitterRoleId = uniqueId('pr-key-worker');
  const persons = Array.from({ length: personCount }, (_, i) => ({
    username: `person-${i}-${suffix}`,
    password: PASSWORD,
    claims: {} as Record<string, string>,
  }));
  return {
    submitterRoleId,
    persons,
    users: [
      {
        username: `key-worker-${suffix}`,
        password: PASSWORD,
        claims: { fhirUser: `PractitionerRole/${submitterRoleId}`, phb_role: 'care-coordinator' },
      },
      ...persons,
    ],
  };
}

/** The key worker's Practitioner and PractitionerRole in HAPI. */
export async function storeSubmitter(store: HapiStore, people: JourneyPeople): Promise<void> {
  const { practitioner: p, role } = practitioner.toFhir({
    id: people.submitterRoleId,
    name: 'Key worker',
    role: 'care-coordinator',
    organisationOds: 'RTEST',
  });
  await store.update({ ...(p as Practitioner), id: people.submitterRoleId });
  await store.update({ ...(role as PractitionerRole), id: people.submitterRoleId });
}

export async function submitterToken(world: AuthWorld, people: JourneyPeople): Promise<string> {
  const user = people.users[0];
  if (!user) throw new Error('no key worker');
  return (await world.identity.authorizationCode(CLIENTS.staffApp, user.username, 'openid fhirUser user/*.cruds'))
    .accessToken;
}

/** A person's own token (portal), or their PHR app's, once their Patient id is known. */
export async function personToken(
  world: AuthWorld,
  person: DemoUser,
  patientId: string,
  client: 'portal' | 'phrApp' = 'portal',
): Promise<string> {
  person.claims.fhirUser = `Patient/${patientId}`;
  person.claims.patient = patientId;
  return (
    await world.identity.authorizationCode(
      CLIENTS[client],
      person.username,
      'openid fhirUser launch/patient patient/*.cruds',
    )
  ).accessToken;
}

/** Posts with an explicit token (for callers outside the role table: the key worker, a scenario's person). */
export async function postAs(
  app: Express,
  token: string,
  path: string,
  body: unknown,
  key = uniqueId('key'),
): Promise<request.Response> {
  return request(app)
    .post(`/api/v1${path}`)
    .set('Authorization', `Bearer ${token}`)
    .set('Idempotency-Key', key)
    .send(body as object);
}

/** The person a referral is for, and which PHB: the rest of the referral is the same in every test. */
export interface ReferralFor {
  name: string;
  birthDate: string;
  kind: 'one-off' | 'ongoing';
  cohort: string;
}

/**
 * A referral of a new person by the people's submitter, with the world's staff on its care team, found
 * eligible by a care coordinator: where step 2 starts. Fails naming the step that did not answer as expected.
 */
export async function eligibleJourney(
  world: AuthWorld,
  people: JourneyPeople,
  submitter: string,
  coordinator: string,
  person: ReferralFor,
): Promise<{ holderId: string; journeyId: string; journeyPath: string }> {
  const referral = await postAs(world.app, submitter, '/referrals', {
    person: { nhsNumber: freshNhsNumber(), name: person.name, birthDate: person.birthDate },
    kind: person.kind,
    cohort: person.cohort,
    start: '2026-01-05',
    careTeam: [...Object.values(world.staffRoleIds), people.submitterRoleId],
  });
  if (referral.status !== 201) throw new Error(`referral: ${referral.status} ${JSON.stringify(referral.body)}`);
  const holderId = referral.body.budgetHolderId as string;
  const journeyId = referral.body.id as string;
  const journeyPath = `/budget-holders/${holderId}/journeys/${journeyId}`;
  const eligibility = await postAs(world.app, coordinator, `${journeyPath}/eligibility`, {
    eligible: true,
    decidedOn: '2026-01-06',
  });
  if (eligibility.status !== 200)
    throw new Error(`eligibility: ${eligibility.status} ${JSON.stringify(eligibility.body)}`);
  return { holderId, journeyId, journeyPath };
}
