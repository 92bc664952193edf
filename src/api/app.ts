import express, { type Express } from 'express';
import type { FhirStore } from '../store/fhirStore.js';
import { AppError } from '../outcome/errors.js';
import { requestContext } from './context.js';
import { fhirErrorHandler, problemErrorHandler } from './render.js';
import { healthRouter, type Readiness } from './readiness.js';

export interface AppDeps {
  store: FhirStore;
  readiness: Readiness;
  retryAfterSeconds: number;
}

const JSON_TYPES = ['application/json', 'application/fhir+json', 'application/*+json'];
const BODY_LIMIT = '5mb';

/** Wiring only: context, parsers, one router per area, one error renderer per API face. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext);

  app.use(healthRouter(deps.store, deps.readiness, deps.retryAfterSeconds));

  const fhir = express.Router();
  fhir.use(express.json({ type: JSON_TYPES, limit: BODY_LIMIT }));
  fhir.use((req, _res, next) => {
    next(new AppError(404, { code: 'not-supported', diagnostics: `${req.method} ${req.baseUrl}${req.path} is not supported by this server` }));
  });
  fhir.use(fhirErrorHandler);
  app.use('/fhir', fhir);

  const api = express.Router();
  api.use(express.json({ type: JSON_TYPES, limit: BODY_LIMIT }));
  api.use((req, _res, next) => {
    next(new AppError(404, { code: 'not-found', diagnostics: `${req.method} ${req.baseUrl}${req.path} does not exist` }));
  });
  api.use(problemErrorHandler);
  app.use('/api', api);

  app.use((req, _res, next) => {
    next(new AppError(404, { code: 'not-found', diagnostics: `${req.method} ${req.path} does not exist` }));
  });
  app.use(problemErrorHandler);
  return app;
}
