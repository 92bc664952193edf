import { Router } from 'express';
import type { FhirStore } from '../store/fhirStore.js';
import { AppError } from '../outcome/errors.js';

/** What /ready reports besides HAPI being reachable now. */
export interface Readiness {
  conformanceLoaded: boolean;
  /** Why loading has not finished, for operators; never personal data. */
  conformanceProblem?: string;
}

export function healthRouter(store: FhirStore, readiness: Readiness, retryAfterSeconds: number): Router {
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    let fhirStore: 'reachable' | 'unreachable' = 'reachable';
    try {
      await store.capabilities();
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      fhirStore = 'unreachable';
    }
    const ready = fhirStore === 'reachable' && readiness.conformanceLoaded;
    if (!ready) res.setHeader('Retry-After', String(retryAfterSeconds));
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not-ready',
      checks: {
        fhirStore,
        conformance: readiness.conformanceLoaded ? 'loaded' : 'pending',
        ...(readiness.conformanceProblem ? { conformanceProblem: readiness.conformanceProblem } : {}),
      },
    });
  });

  return router;
}
