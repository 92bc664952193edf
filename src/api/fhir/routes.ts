import type { ProtectedRoute } from '../protectedRoutes.js';
import { COMPARTMENT_ROUTES } from './compartmentRoutes.js';
import { SUMMARY_ROUTE } from './summaryRoute.js';
import { SEND_QUESTIONNAIRE_ROUTE } from './sendQuestionnaireRoute.js';
import { CREATE_RESPONSE_ROUTE, UPDATE_GOAL_ROUTE } from './selfTrackingRoutes.js';

/**
 * The person's PHB on /fhir, for budget holders, representatives, PHR apps and staff: part of the
 * one protected route table (src/api/protectedRoutes.ts), so the guard, the access-matrix test
 * and /fhir/metadata cover every row.
 */
export const PHR_FHIR_ROUTES: readonly ProtectedRoute[] = [
  ...COMPARTMENT_ROUTES,
  SUMMARY_ROUTE,
  SEND_QUESTIONNAIRE_ROUTE,
  CREATE_RESPONSE_ROUTE,
  UPDATE_GOAL_ROUTE,
];
