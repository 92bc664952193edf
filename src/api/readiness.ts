import { Router } from 'express';
import type { FhirStore } from '../store/fhirStore.js';
import { AppError } from '../outcome/errors.js';

/** What /ready reports besides HAPI being reachable now. */
export interface Readiness {
  conformanceLoaded: boolean;
  /** Why loading has not finished, for operators; never personal data. */
  conformanceProblem?: string;
}

async function reachable(store: FhirStore): Promise<'reachable' | 'unreachable'> {
  try {
    await store.capabilities();
    return 'reachable';
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    return 'unreachable';
  }
}

export function healthRouter(
  store: FhirStore,
  readiness: Readiness,
  retryAfterSeconds: number,
  auditStore?: FhirStore,
): Router {
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    const [fhirStore, auditRepository] = await Promise.all([
      reachable(store),
      auditStore ? reachable(auditStore) : undefined,
    ]);
    const ready = fhirStore === 'reachable' && auditRepository !== 'unreachable' && readiness.conformanceLoaded;
    if (!ready) res.setHeader('Retry-After', String(retryAfterSeconds));
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not-ready',
      checks: {
        fhirStore,
        ...(auditRepository ? { auditRepository } : {}),
        conformance: readiness.conformanceLoaded ? 'loaded' : 'pending',
        ...(readiness.conformanceProblem ? { conformanceProblem: readiness.conformanceProblem } : {}),
      },
    });
  });

  return router;
}
