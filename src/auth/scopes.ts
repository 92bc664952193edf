/**
 * SMART App Launch scopes: v2 `context/Type.cruds` (letters in that order) and v1
 * `context/Type.read|write|*`, read as SMART 2.x says v1 scopes map to v2: `read` = `rs`,
 * `write` = `cud`, `*` = `cruds`. A scope only ever adds access; what the role may do is
 * decided by the permission table, and a request needs both.
 */

export type ScopeContext = 'patient' | 'user' | 'system';
export type Interaction = 'create' | 'read' | 'update' | 'delete' | 'search';

export const INTERACTIONS: readonly Interaction[] = ['create', 'read', 'update', 'delete', 'search'];
const LETTER: Record<Interaction, string> = { create: 'c', read: 'r', update: 'u', delete: 'd', search: 's' };

export interface ResourceScope {
  context: ScopeContext;
  /** A FHIR resource type, or '*' for all. */
  resource: string;
  interactions: ReadonlySet<Interaction>;
}

/** Every permission part a resource scope can carry: each v2 letter set in `cruds` order, then v1's three. */
export const SCOPE_PERMISSIONS: readonly string[] = [
  ...Array.from({ length: 31 }, (_, n) =>
    INTERACTIONS.filter((_i, bit) => (n + 1) & (1 << bit))
      .map((i) => LETTER[i])
      .join(''),
  ),
  'read',
  'write',
  '*',
];

const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]+)$/;
const V2_LETTERS = /^c?r?u?d?s?$/;

function interactionsOf(permission: string): Interaction[] | undefined {
  if (permission === 'read') return ['read', 'search'];
  if (permission === 'write') return ['create', 'update', 'delete'];
  if (permission === '*') return [...INTERACTIONS];
  if (permission === '' || !V2_LETTERS.test(permission)) return undefined;
  return INTERACTIONS.filter((i) => permission.includes(LETTER[i]));
}

/**
 * One resource scope, or undefined for anything else (openid, fhirUser, launch/patient...).
 * v2 scopes with a query (`patient/Observation.rs?category=...`) narrow access in ways this
 * service does not enforce, so they grant nothing rather than everything.
 */
export function parseScope(scope: string): ResourceScope | undefined {
  const match = SCOPE.exec(scope);
  if (!match) return undefined;
  const interactions = interactionsOf(match[3] as string);
  if (!interactions) return undefined;
  return { context: match[1] as ScopeContext, resource: match[2] as string, interactions: new Set(interactions) };
}

export function parseScopes(scope: string | undefined): ResourceScope[] {
  return (scope ?? '').split(' ').flatMap((s) => parseScope(s) ?? []);
}

export function scopesAllow(
  scopes: readonly ResourceScope[],
  context: ScopeContext,
  resource: string,
  interaction: Interaction,
): boolean {
  return scopes.some(
    (s) => s.context === context && (s.resource === '*' || s.resource === resource) && s.interactions.has(interaction),
  );
}

/** The v2 scope naming exactly these interactions, e.g. `patient/CarePlan.rs`. */
export function scopeString(context: ScopeContext, resource: string, interactions: Iterable<Interaction>): string {
  const wanted = new Set(interactions);
  return `${context}/${resource}.${INTERACTIONS.filter((i) => wanted.has(i))
    .map((i) => LETTER[i])
    .join('')}`;
}
