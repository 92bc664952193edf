import type { ProtectedRoute } from '../route.js';
import { COMPARTMENT_ROUTES } from './compartmentRoutes.js';
import { SUMMARY_ROUTE } from './summaryRoute.js';
import { SEND_QUESTIONNAIRE_ROUTE } from './sendQuestionnaireRoute.js';
import { CREATE_RESPONSE_ROUTE, UPDATE_GOAL_ROUTE } from './selfTrackingRoutes.js';
import { DISCHARGE_DOCUMENT_ROUTE, READ_DOCUMENT_ROUTE } from './dischargeRoutes.js';
import { EHR_IMPORT_ROUTE } from './ehrImportRoute.js';

/**
 * The person's PHB on /fhir, for budget holders, representatives, PHR apps, staff and the GP and
 * secondary care systems at discharge: part of the
 * one protected route table (src/api/protectedRoutes.ts), so the guard, the access-matrix test
 * and /fhir/metadata cover every row.
 */
export const PHR_FHIR_ROUTES: readonly ProtectedRoute[] = [
  ...COMPARTMENT_ROUTES,
  SUMMARY_ROUTE,
  SEND_QUESTIONNAIRE_ROUTE,
  CREATE_RESPONSE_ROUTE,
  UPDATE_GOAL_ROUTE,
  // Discharge to primary care: goals in from secondary care EHRs, the document out to the GP.
  EHR_IMPORT_ROUTE,
  DISCHARGE_DOCUMENT_ROUTE,
  READ_DOCUMENT_ROUTE,
];
