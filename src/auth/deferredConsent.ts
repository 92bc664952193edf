import type { Consent, FhirResource, OperationOutcome } from 'fhir/r4.js';
import type { Response } from 'express';
import { log } from '../log/logger.js';
import type { AccessFacts } from './authorize.js';
import { consentGrants } from '../fhir/consent.js';

/**
 * A consent check the guard leaves to a route whose own search brings the patient's Consents
 * (`consentInRecords`), so a PHR app's request costs HAPI one search instead of two. The
 * decision is made with the consent assumed and the check noted as owed; the route settles it
 * with its records, and until it has, no successful answer leaves.
 */
export class DeferredConsent {
  private readonly owed: { patientId: string; clientId: string }[] = [];
  private settled = false;

  /** The facts for the decision: consent is noted as owed (and assumed for now), every other fact is asked as usual. */
  over(facts: AccessFacts): AccessFacts {
    return {
      consentActive: async (patientId, clientId) => {
        this.owed.push({ patientId, clientId });
        return true;
      },
      onTeam: (...args) => facts.onTeam(...args),
      memberOfTeam: (...args) => facts.memberOfTeam(...args),
      onCaseload: (...args) => facts.onCaseload(...args),
      registeredWith: (...args) => facts.registeredWith(...args),
      represents: (...args) => facts.represents(...args),
    };
  }

  get isOwed(): boolean {
    return this.owed.length > 0;
  }

  get pending(): boolean {
    return this.isOwed && !this.settled;
  }

  /** Settles what is owed with the route's records (Consents among them); false when none grants. */
  settle(resources: readonly FhirResource[]): boolean {
    const consents = resources.filter((r): r is Consent => r.resourceType === 'Consent');
    if (!this.owed.every((o) => consentGrants(consents, o.patientId, o.clientId))) return false;
    this.settled = true;
    return true;
  }
}

const UNSETTLED: OperationOutcome = {
  resourceType: 'OperationOutcome',
  issue: [
    {
      severity: 'error',
      code: 'exception',
      diagnostics: 'The route did not settle the consent check its guard left to it',
    },
  ],
};

/** Headers a route may have set about the data it meant to send. */
const DATA_HEADERS = ['ETag', 'Last-Modified', 'Location', 'Content-Location'];

/**
 * Holds back a successful answer while the consent check is pending: a route that answers
 * without settling it is a wiring bug, answered 500 in place of its data. Errors (the route's
 * own 403 among them) pass unchanged. Routes answer through res.send, which res.json uses too.
 */
export function holdUntilSettled(res: Response, consent: DeferredConsent, onHeld: () => void): void {
  const send = res.send.bind(res);
  res.send = (body?: unknown) => {
    if (!consent.pending || res.statusCode >= 400) return send(body);
    onHeld();
    log().error('a route answered without settling the consent check its guard left to it', { status: res.statusCode });
    for (const header of DATA_HEADERS) res.removeHeader(header);
    return res.status(500).type('application/fhir+json').json(UNSETTLED);
  };
}
