import type { FhirResource, OperationOutcome } from 'fhir/r4.js';
import type { Destination } from '../config/destinations.js';
import { TokenError, TokenSource } from './tokens.js';

/**
 * What one write to a destination came to:
 * - `delivered`: done (or, for a removal, nothing was there);
 * - `rejected`: the destination refused this resource (4xx); sending it again will not help, so
 *   it becomes a dead letter at once, with the destination's OperationOutcome;
 * - `failed`: this write failed in a way that may pass (5xx, 429, 408); retried with backoff, a
 *   bounded number of times;
 * - `unavailable`: the destination is not there at all (no answer, a gateway saying its server
 *   is down, or our credentials refused): nothing is wrong with this change, so it waits,
 *   with backoff, without using up its attempts.
 */
export type DeliveryResult =
  | { kind: 'delivered'; status: number; created: boolean }
  | { kind: 'rejected'; status: number; outcome?: OperationOutcome; message: string }
  | { kind: 'failed'; status: number; outcome?: OperationOutcome; message: string }
  | { kind: 'unavailable'; status?: number; message: string };

const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500]);

function isOperationOutcome(value: unknown): value is OperationOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

function errorName(e: unknown): string {
  const name = (e as { name?: unknown } | null)?.name;
  const code = (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'error';
}

/** A FHIR R4 server we write to: conditional updates and deletes keyed on our identifiers. */
export class DestinationClient {
  readonly tokens: TokenSource;

  constructor(private readonly destination: Destination) {
    this.tokens = new TokenSource(destination);
  }

  /** `PUT [base]/Type?identifier=system|value`: creates when nothing matches, updates the one match. */
  upsert(resource: FhirResource, identifier: { system: string; value: string }): Promise<DeliveryResult> {
    return this.exchange(
      'PUT',
      `${resource.resourceType}?identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}`,
      resource,
    );
  }

  /** `DELETE [base]/Type?identifier=system|value`; nothing there counts as done. */
  remove(resourceType: string, identifier: { system: string; value: string }): Promise<DeliveryResult> {
    return this.exchange(
      'DELETE',
      `${resourceType}?identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}`,
    );
  }

  private async exchange(method: 'PUT' | 'DELETE', path: string, body?: FhirResource): Promise<DeliveryResult> {
    let token: string;
    try {
      token = await this.tokens.token();
    } catch (e) {
      if (e instanceof TokenError) return { kind: 'unavailable', message: e.message };
      throw e;
    }
    let result = await this.send(method, path, token, body);
    if (result.status === 401) {
      // Revoked or expired early: one fresh token, one more try.
      this.tokens.invalidate(token);
      try {
        token = await this.tokens.token();
      } catch (e) {
        if (e instanceof TokenError) return { kind: 'unavailable', message: e.message };
        throw e;
      }
      result = await this.send(method, path, token, body);
      if (result.status === 401)
        return { kind: 'unavailable', status: 401, message: 'the destination refuses our access token' };
    }
    return result.result;
  }

  private async send(
    method: string,
    path: string,
    token: string,
    body: FhirResource | undefined,
  ): Promise<{ status?: number; result: DeliveryResult }> {
    let response: Response;
    try {
      response = await fetch(`${this.destination.fhirBaseUrl}/${path}`, {
        method,
        headers: {
          ...this.destination.headers,
          authorization: `Bearer ${token}`,
          accept: 'application/fhir+json',
          prefer: 'return=minimal',
          ...(body ? { 'content-type': 'application/fhir+json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.destination.timeoutMs),
        redirect: 'manual',
      });
    } catch (e) {
      return { result: { kind: 'unavailable', message: `no answer from the destination (${errorName(e)})` } };
    }
    const status = response.status;
    let outcome: OperationOutcome | undefined;
    try {
      const text = await response.text();
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      if (isOperationOutcome(parsed)) outcome = parsed;
    } catch {
      // Not JSON: the status says enough.
    }
    if (status >= 200 && status < 300)
      return { status, result: { kind: 'delivered', status, created: status === 201 } };
    if (method === 'DELETE' && (status === 404 || status === 410))
      return { status, result: { kind: 'delivered', status, created: false } };
    const message = `${method} ${path.split('?')[0]} answered ${status}`;
    if (status === 401 || UNAVAILABLE_STATUSES.has(status))
      return { status, result: { kind: 'unavailable', status, message } };
    if (RETRYABLE_STATUSES.has(status) || (status >= 500 && status !== 501))
      return { status, result: { kind: 'failed', status, ...(outcome ? { outcome } : {}), message } };
    return { status, result: { kind: 'rejected', status, ...(outcome ? { outcome } : {}), message } };
  }
}
