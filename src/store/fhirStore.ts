import type { Bundle, CapabilityStatement, FhirResource, OperationOutcome } from 'fhir/r4.js';

export type SearchParams = Record<string, string | number | (string | number)[]>;

export interface WriteResult<T extends FhirResource> {
  resource: T;
  /** true when the store made a new resource, false when it updated or matched an existing one. */
  created: boolean;
  versionId: string;
}

/** A history read (`[Type/[id/]]_history?_since=&_count=`), or the page a previous one linked to. */
export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Versions written at or after this instant (inclusive, as FHIR says). */
  since?: string;
  count?: number;
  /** The `next` link of a page this store returned; the other fields are then ignored. */
  page?: string;
}

export interface StoreCallOptions {
  /** Forwarded to HAPI so its logs can be joined to ours; defaults to the request being served. */
  requestId?: string;
  /** This call's deadline instead of the store's own (work off the response path may wait longer). */
  timeoutMs?: number;
}

/**
 * The only way the service reaches FHIR storage. The HAPI adapter implements it; every
 * failure is an AppError carrying HAPI's status and OperationOutcome, or 503 when HAPI is
 * unreachable or too slow.
 */
export interface FhirStore {
  read<T extends FhirResource>(resourceType: T['resourceType'], id: string, options?: StoreCallOptions): Promise<T>;
  /** Like read, but a resource that does not exist (or was deleted) is `undefined`, not an error. */
  readIfExists<T extends FhirResource>(
    resourceType: T['resourceType'],
    id: string,
    options?: StoreCallOptions,
  ): Promise<T | undefined>;
  search<T extends FhirResource = FhirResource>(
    resourceType: T['resourceType'],
    params: SearchParams,
    options?: StoreCallOptions,
  ): Promise<Bundle<T>>;
  /** Creates; with `ifNoneExist` (a search query) an existing match is returned instead. */
  create<T extends FhirResource>(
    resource: T,
    options?: StoreCallOptions & { ifNoneExist?: string },
  ): Promise<WriteResult<T>>;
  /** Update or PUT-as-create by id; with `ifMatchVersion` a stale version fails as 'version-conflict'. */
  update<T extends FhirResource & { id: string }>(
    resource: T,
    options?: StoreCallOptions & { ifMatchVersion?: string },
  ): Promise<WriteResult<T>>;
  /** Atomic: every entry is written or none is. */
  transaction(bundle: Bundle, options?: StoreCallOptions): Promise<Bundle>;
  /**
   * A `batch` or `transaction` Bundle written for its outcome only (`Prefer: return=minimal`):
   * the response gives each entry's status and location (a batch: each entry's own
   * OperationOutcome too), not the resources.
   */
  bulkWrite(bundle: Bundle, options?: StoreCallOptions): Promise<Bundle>;
  /**
   * One page of history (HAPI orders it newest first and pages by offset, so a write between two
   * pages repeats an entry but never skips one); follow `link` next with `page`.
   */
  history(query: HistoryQuery, options?: StoreCallOptions): Promise<Bundle>;
  capabilities(options?: StoreCallOptions): Promise<CapabilityStatement>;
  /** Validates without storing (against base R4, and the profile when given); the outcome lists any errors. */
  validate(resource: FhirResource, profile?: string, options?: StoreCallOptions): Promise<OperationOutcome>;
  /** Whether the ValueSet a canonical URL names holds the code (`ValueSet/$validate-code`); an unknown one fails as 'rejected'. */
  validateCode(valueSet: string, system: string, code: string, options?: StoreCallOptions): Promise<boolean>;
}
