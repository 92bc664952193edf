import type { Consent, FhirResource } from 'fhir/r4.js';
import { AppError } from '../outcome/errors.js';
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
  private withheld = false;

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

  /**
   * Checks an answer about to leave: a successful one while the check is pending comes from a
   * route that answered without settling it (a wiring bug), and is refused with a 500 in place of
   * its data. Errors (the route's own 403 among them) pass unchanged.
   */
  refusal(status: number): AppError | undefined {
    if (!this.pending || status >= 400) return undefined;
    this.withheld = true;
    return new AppError(500, {
      code: 'exception',
      diagnostics: 'The route did not settle the consent check its guard left to it',
    });
  }

  /** Whether an answer was refused for want of settling, for the audit record of the request. */
  get wasWithheld(): boolean {
    return this.withheld;
  }
}
