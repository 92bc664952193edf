import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, FhirResource, Identifier } from 'fhir/r4.js';
import { IDEMPOTENCY_SYSTEM, type IdempotencyKey } from './idempotency.js';
import { withNamedProvenance, type WriteActivity } from '../audit/provenance.js';
import type { Caller } from '../auth/caller.js';
import { AppError, isStoreConflict } from '../outcome/errors.js';
import type { FhirStore } from '../store/fhirStore.js';
import { ID_PATTERN } from '../domain/ids.js';
import { weakEtag } from '../util/etag.js';

/**
 * One state change = one FHIR transaction (DESIGN section 7). Mappers produce resources with ids
 * and `Type/id` references; a resource created here gets a fresh temporary id, which the
 * builder turns into a `urn:uuid:` placeholder so HAPI assigns the real id and rewrites every
 * reference to it inside the same transaction.
 */

/** A temporary id for something this transaction creates. */
export function newId(): string {
  return randomUUID();
}

interface Pending {
  resource: FhirResource;
  method: 'POST' | 'PUT';
  ifNoneExist?: string;
  ifMatch?: string;
}

export class Tx {
  private readonly pending: Pending[] = [];

  /** Creates `resource` (its id is temporary); `ifNoneExist` makes it conditional. Returns its index. */
  create(resource: FhirResource, ifNoneExist?: string): number {
    this.pending.push({ resource, method: 'POST', ...(ifNoneExist ? { ifNoneExist } : {}) });
    return this.pending.length - 1;
  }

  /** Writes `resource` at its own id (a create with an id chosen here, or an update regardless of version). */
  put(resource: FhirResource & { id: string }): number {
    this.pending.push({ resource, method: 'PUT' });
    return this.pending.length - 1;
  }

  /** Updates `resource` only if it is still at `version` (a lost race fails the whole transaction). */
  update(resource: FhirResource & { id: string }, version: string): number {
    this.pending.push({ resource, method: 'PUT', ifMatch: version });
    return this.pending.length - 1;
  }

  get size(): number {
    return this.pending.length;
  }

  bundle(): Bundle {
    const temporary = new Map<string, string>();
    for (const p of this.pending) {
      if (p.method === 'POST' && p.resource.id)
        temporary.set(`${p.resource.resourceType}/${p.resource.id}`, `urn:uuid:${p.resource.id}`);
    }
    const entry: BundleEntry[] = this.pending.map((p) => {
      if (p.method === 'PUT') {
        const id = p.resource.id ?? '';
        return {
          resource: p.resource,
          request: {
            method: 'PUT',
            url: `${p.resource.resourceType}/${id}`,
            ...(p.ifMatch ? { ifMatch: weakEtag(p.ifMatch) } : {}),
          },
        };
      }
      const { id, ...rest } = p.resource;
      return {
        fullUrl: `urn:uuid:${id ?? randomUUID()}`,
        resource: rest as FhirResource,
        request: {
          method: 'POST',
          url: p.resource.resourceType,
          ...(p.ifNoneExist ? { ifNoneExist: p.ifNoneExist } : {}),
        },
      };
    });
    // Every `Type/<temporary id>` reference becomes the placeholder HAPI resolves.
    const json = JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry } satisfies Bundle);
    const rewritten = json.replace(/"reference":"([A-Za-z]+\/[0-9a-f-]{36})"/g, (whole, ref: string) => {
      const placeholder = temporary.get(ref);
      return placeholder ? `"reference":"${placeholder}"` : whole;
    });
    return JSON.parse(rewritten) as Bundle;
  }
}

/** The identifier and If-None-Exist query for one created resource (`n` tells several apart). */
export function keyedIdentifier(key: IdempotencyKey, n = 0): { identifier: Identifier; ifNoneExist: string } {
  const value = n === 0 ? (key.identifier.value ?? '') : `${key.identifier.value ?? ''}-${n}`;
  return {
    identifier: { system: IDEMPOTENCY_SYSTEM, value },
    ifNoneExist: `identifier=${encodeURIComponent(`${IDEMPOTENCY_SYSTEM}|${value}`)}`,
  };
}

/** Where each entry ended up: `Type/id` and version, in the order they were added. */
export interface Committed {
  refs: { ref: string; version: string }[];
}

/** A transaction response's location: `[base/]Type/id[/_history/version]`. */
const LOCATION = new RegExp(String.raw`^(?:.*/)?([A-Za-z]+)/(${ID_PATTERN})(?:/_history/([^/]+))?$`);

function refOf(location: string | undefined): { ref: string; version: string } {
  const match = LOCATION.exec(location ?? '');
  if (!match)
    throw new AppError(502, {
      code: 'exception',
      diagnostics: 'The FHIR store answered the transaction without a location',
    });
  return { ref: `${match[1]}/${match[2]}`, version: match[3] ?? '' };
}

/**
 * Writes the transaction with its Provenance (named by the idempotency key, so a replay finds it)
 * and the key's completion in one atomic call. Nothing is written if any entry fails: a stale
 * If-Match, of a record or of the key, fails it all (409).
 */
export async function commit(
  store: FhirStore,
  tx: Tx,
  primary: number,
  caller: Caller,
  activity: WriteActivity,
  key: IdempotencyKey,
  keyCompletion: BundleEntry,
): Promise<Committed> {
  const withProv = withNamedProvenance(tx.bundle(), caller, activity, key.provenanceId, primary);
  // The key is completed in the same transaction, and only if this request still holds it.
  const bundle: Bundle = { ...withProv, entry: [...(withProv.entry ?? []), keyCompletion] };
  let result: Bundle;
  try {
    result = await store.transaction(bundle);
  } catch (e) {
    // HAPI answers a stale If-Match inside a transaction with 409 (sometimes 412): someone else's change won.
    if (isStoreConflict(e)) {
      throw new AppError(
        409,
        {
          code: 'conflict',
          diagnostics: 'The record changed since it was read (another change was made first); read it again and retry',
        },
        { reason: 'version-conflict' },
      );
    }
    throw e;
  }
  return { refs: (result.entry ?? []).slice(0, tx.size).map((e) => refOf(e.response?.location)) };
}
