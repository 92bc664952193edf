import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Provenance, Reference } from 'fhir/r4.js';
import { callerReference, isPatientCaller, type Caller } from '../auth/caller.js';
import { CALLER_ROLE_SYSTEM, CLIENT_SYSTEM } from './auditEvent.js';

/**
 * Provenance for a write made through the facade: who (the person, staff member or system), with
 * which app, on whose behalf, when. Write routes add it to the same transaction Bundle as the
 * change, so the change and its provenance are stored together or not at all. Business decisions
 * (sign-off, agreements) have their own Provenance in src/fhir/provenance.ts.
 */
export type WriteActivity = 'CREATE' | 'UPDATE' | 'DELETE';

const PARTICIPANT = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';
const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation';

function client(clientId: string): Reference {
  return { type: 'Device', identifier: { system: CLIENT_SYSTEM, value: clientId } };
}

export function writeProvenance(
  caller: Caller,
  targets: Reference[],
  activity: WriteActivity,
  recorded = new Date().toISOString(),
): Provenance {
  const who = callerReference(caller);
  // A representative or an app acts for the person; the person's own writes are on nobody's behalf.
  const onBehalfOf =
    isPatientCaller(caller) && caller.fhirUser !== `Patient/${caller.patientId}`
      ? { onBehalfOf: { reference: `Patient/${caller.patientId}` } }
      : {};
  return {
    resourceType: 'Provenance',
    target: targets,
    recorded,
    activity: { coding: [{ system: DATA_OPERATION, code: activity }] },
    agent: [
      {
        type: { coding: [{ system: PARTICIPANT, code: 'author' }] },
        role: [{ coding: [{ system: CALLER_ROLE_SYSTEM, code: caller.role }] }],
        who: who ? { reference: who } : client(caller.clientId),
        ...onBehalfOf,
      },
      ...(who
        ? [{ type: { coding: [{ system: PARTICIPANT, code: 'performer' }] }, who: client(caller.clientId) }]
        : []),
    ],
  };
}

/** The references a transaction's entries will be known by, for Provenance.target. */
export function bundleTargets(bundle: Bundle): Reference[] {
  return (bundle.entry ?? []).flatMap((e) => {
    if (e.request?.method === 'DELETE' || e.request?.method === 'GET') return [];
    if (e.fullUrl) return [{ reference: e.fullUrl }];
    const r = e.resource;
    return r?.id ? [{ reference: `${r.resourceType}/${r.id}` }] : [];
  });
}

/** The same transaction with a Provenance entry for every resource it writes. */
export function withProvenance(bundle: Bundle, caller: Caller, activity: WriteActivity, recorded?: string): Bundle {
  const entry: BundleEntry = {
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: writeProvenance(caller, bundleTargets(bundle), activity, recorded),
    request: { method: 'POST', url: 'Provenance' },
  };
  return { ...bundle, entry: [...(bundle.entry ?? []), entry] };
}

/**
 * The same transaction with its write Provenance at `id` (a PUT): a request under an
 * Idempotency-Key names its Provenance after the key, so a replay finds what it wrote. The entry
 * at `primary` is the first target: what the replay presents.
 */
export function withNamedProvenance(
  bundle: Bundle,
  caller: Caller,
  activity: WriteActivity,
  id: string,
  primary = 0,
): Bundle {
  const targets = bundleTargets(bundle);
  const first = targets[primary];
  const ordered = first ? [first, ...targets.filter((_, i) => i !== primary)] : targets;
  const entry: BundleEntry = {
    resource: { ...writeProvenance(caller, ordered, activity), id },
    request: { method: 'PUT', url: `Provenance/${id}` },
  };
  return { ...bundle, entry: [...(bundle.entry ?? []), entry] };
}
