import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestSecurity } from 'fhir/r4.js';
import { Router } from 'express';
import type { IssuerRegistry } from '../auth/issuers.js';
import { capabilitySecurity } from '../auth/smart.js';
import { PROTECTED_ROUTES } from './protectedRoutes.js';
import { AppError, badRequest } from '../outcome/errors.js';

const INTERACTION_CODE = {
  read: 'read',
  search: 'search-type',
  create: 'create',
  update: 'update',
  delete: 'delete',
} as const;

/**
 * The CapabilityStatement for /fhir, built from the protected route table so it lists exactly
 * what the facade serves; the security section comes from the trusted issuer's discovery.
 */
export function capabilityStatement(baseUrl: string, security?: CapabilityStatementRestSecurity): CapabilityStatement {
  const byType = new Map<string, CapabilityStatementRestResource>();
  const systemInteractions = new Set<'transaction'>();
  for (const route of PROTECTED_ROUTES.filter((r) => r.face === 'fhir')) {
    if (route.system) {
      systemInteractions.add(route.system);
      continue;
    }
    const type = route.operation?.type ?? route.resource;
    const entry = byType.get(type) ?? { type, interaction: [], searchParam: [] };
    byType.set(type, entry);
    // An operation is listed as an operation, not as the interaction whose permission it needs.
    if (route.operation) {
      entry.operation = [
        ...(entry.operation ?? []),
        { name: route.operation.name, definition: route.operation.definition },
      ];
      continue;
    }
    const code = INTERACTION_CODE[route.interaction];
    if (!entry.interaction?.some((i) => i.code === code)) entry.interaction?.push({ code });
    for (const p of route.searchParams ?? []) {
      if (!entry.searchParam?.some((s) => s.name === p.name))
        entry.searchParam?.push({
          name: p.name,
          type: p.type,
          ...(p.documentation ? { documentation: p.documentation } : {}),
        });
    }
    if (route.searchInclude?.length) entry.searchInclude = [...route.searchInclude];
    if (route.searchRevInclude?.length) entry.searchRevInclude = [...route.searchRevInclude];
  }
  const resource = [...byType.values()]
    .map((r) => ({
      type: r.type,
      ...(r.interaction?.length ? { interaction: r.interaction } : {}),
      ...(r.searchInclude ? { searchInclude: r.searchInclude } : {}),
      ...(r.searchRevInclude ? { searchRevInclude: r.searchRevInclude } : {}),
      ...(r.searchParam?.length ? { searchParam: r.searchParam } : {}),
      ...(r.operation ? { operation: r.operation } : {}),
    }))
    .sort((a, b) => a.type.localeCompare(b.type));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-23',
    kind: 'instance',
    software: { name: 'PHB FHIR facade' },
    implementation: { description: 'Personal health budget FHIR facade', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        ...(security ? { security } : {}),
        resource,
        ...(systemInteractions.size
          ? {
              interaction: [...systemInteractions].map((code) => ({
                code,
                documentation:
                  "A secondary care EHR sends a person's goals (and its care plan) as a transaction or document Bundle",
              })),
            }
          : {}),
      },
    ],
  };
}

/** `mode` values answered (R4 capabilities): both with the one CapabilityStatement, which is all normative R4. */
const MODES = ['full', 'normative'];

/** /metadata takes `mode` and `_format` (checked by the format negotiation); anything else is refused. */
function checkMetadataQuery(query: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(query)) {
    if (name === '_format') continue;
    if (name !== 'mode')
      throw new AppError(400, {
        code: 'not-supported',
        diagnostics: `metadata has no parameter ${name} (it takes mode and _format)`,
        location: name,
      });
    if (value === 'terminology')
      throw new AppError(400, {
        code: 'not-supported',
        diagnostics: `mode=terminology is not served: this server has no TerminologyCapabilities (modes: ${MODES.join(', ')})`,
        location: 'mode',
      });
    if (typeof value !== 'string' || !MODES.includes(value))
      throw badRequest(`mode=${String(value)} is not a mode of metadata (modes: ${MODES.join(', ')})`, 'mode');
  }
}

/** `cors`: whether browser apps on some origin may call /fhir (CORS_ALLOWED_ORIGINS names any). */
export function metadataRouter(issuers: IssuerRegistry, cors: boolean): Router {
  const router = Router();
  router.get('/metadata', async (req, res) => {
    checkMetadataQuery(req.query as Record<string, unknown>);
    // Without a reachable issuer the statement still says what is served; security follows once discovered.
    let security: CapabilityStatementRestSecurity | undefined;
    try {
      security = capabilitySecurity((await issuers.primary()).metadata, cors);
    } catch {
      security = undefined;
    }
    const baseUrl = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
    res.type('application/fhir+json').json(capabilityStatement(baseUrl, security));
  });
  return router;
}
