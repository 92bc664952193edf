import type { AuditEvent, AuditEventAgent, AuditEventEntity, Reference } from 'fhir/r4.js';
import { SYSTEMS } from '../fhir/common.js';
import { callerReference, type Caller } from '../auth/caller.js';
import type { AccessRecord } from '../auth/access.js';
import type { Interaction } from '../auth/scopes.js';
import { ID_PATTERN } from '../domain/ids.js';

export const CLIENT_SYSTEM = SYSTEMS.identifier('client');
/** Ids named by a request that HAPI does not hold (e.g. a probe for a made-up patient id). */
export const UNRESOLVED_SYSTEM = SYSTEMS.identifier('unresolved-reference');
export const CALLER_ROLE_SYSTEM = SYSTEMS.codeSystem('caller-role');
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

const ACTION: Record<Interaction, AuditEvent['action']> = {
  create: 'C',
  read: 'R',
  update: 'U',
  delete: 'D',
  search: 'E',
};
const SUBTYPE: Record<Interaction, string> = {
  create: 'create',
  read: 'read',
  update: 'update',
  delete: 'delete',
  search: 'search-type',
};
/** 0 success, 4 minor failure (refused), 8 serious failure. */
const OUTCOME: Record<AccessRecord['outcome'], AuditEvent['outcome']> = { success: '0', denied: '4', failed: '8' };

function clientReference(clientId: string): Reference {
  return { type: 'Device', identifier: { system: CLIENT_SYSTEM, value: clientId } };
}

function agents(caller: Caller | undefined): AuditEventAgent[] {
  if (!caller) return [{ requestor: true, who: { display: 'unauthenticated caller' } }];
  const who = callerReference(caller);
  const role = [{ coding: [{ system: CALLER_ROLE_SYSTEM, code: caller.role }] }];
  const user: AuditEventAgent = {
    requestor: true,
    who: who ? { reference: who } : clientReference(caller.clientId),
    altId: caller.subject,
    role,
  };
  if (!who) return [user];
  // The app the person or staff member used, as its own agent.
  const app: AuditEventAgent = {
    requestor: caller.kind === 'phr-app',
    type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] },
    who: clientReference(caller.clientId),
  };
  return [user, app];
}

function entities(record: AccessRecord): AuditEventEntity[] {
  const list: AuditEventEntity[] = [
    {
      ...(record.resourceId ? { what: { reference: `${record.resource}/${record.resourceId}` } } : {}),
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      name: record.resource,
    },
  ];
  if (record.patientId !== undefined) {
    list.push({
      what: { reference: `Patient/${record.patientId}` },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
    });
  }
  if (record.requestId !== undefined) {
    list.push({
      what: { identifier: { value: record.requestId } },
      type: { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId' },
    });
  }
  return list;
}

/** The request id an event carries (its XrequestId entity). */
export function requestIdOf(event: AuditEvent): string | undefined {
  return event.entity?.find((e) => e.type?.code === 'XrequestId')?.what?.identifier?.value;
}

export function toAuditEvent(record: AccessRecord): AuditEvent {
  return {
    resourceType: 'AuditEvent',
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: SUBTYPE[record.interaction] }],
    action: ACTION[record.interaction],
    recorded: record.time,
    outcome: OUTCOME[record.outcome],
    ...(record.reason ? { outcomeDesc: record.reason } : {}),
    agent: agents(record.caller),
    source: {
      site: 'phb-facade',
      observer: { display: 'phb-facade' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    entity: entities(record),
  };
}

const LITERAL = new RegExp(String.raw`^([A-Z][A-Za-z]+)/(${ID_PATTERN})$`);

/** The same event with each reference it holds (agent.who, entity.what) passed through `change`. */
function mapReferences(event: AuditEvent, change: (ref: Reference) => Reference): AuditEvent {
  return {
    ...event,
    agent: event.agent.map((a) => (a.who ? { ...a, who: change(a.who) } : a)),
    ...(event.entity ? { entity: event.entity.map((e) => (e.what ? { ...e, what: change(e.what) } : e)) } : {}),
  };
}

/**
 * The same event with every literal reference turned into a logical one. HAPI refuses a
 * reference to a resource it does not hold, and a refusal about a made-up id must still be
 * recorded; the event then loses only its searchability by that reference.
 */
export function withLogicalReferences(event: AuditEvent): AuditEvent {
  return mapReferences(event, (ref) => {
    const match = LITERAL.exec(ref.reference ?? '');
    return match
      ? { type: match[1] as string, identifier: { system: UNRESOLVED_SYSTEM, value: match[2] as string } }
      : ref;
  });
}

/**
 * The same event with every relative literal reference made absolute under `base`, for an audit
 * repository that is not the store holding the records.
 */
export function withReferenceBase(event: AuditEvent, base: string): AuditEvent {
  return mapReferences(event, (ref) =>
    ref.reference !== undefined && LITERAL.test(ref.reference)
      ? { ...ref, reference: `${base}/${ref.reference}` }
      : ref,
  );
}
