import type { ProtectedRoute } from '../route.js';
import { protectedRoute, type ApiRoute } from './http.js';
import { JOURNEY_ROUTES } from './journeyRoutes.js';
import { PLAN_ROUTES } from './planRoutes.js';
import { SIGNOFF_ROUTES } from './signoffRoutes.js';
import { MONEY_ROUTES } from './moneyRoutes.js';

/** Every /api/v1 route, in the order of the six steps; each is a row of the protected-route table. */
export const API_V1_ROUTES: readonly ApiRoute[] = [
  ...JOURNEY_ROUTES,
  ...PLAN_ROUTES,
  ...SIGNOFF_ROUTES,
  ...MONEY_ROUTES,
];

export const PHB_API_ROUTES: readonly ProtectedRoute[] = API_V1_ROUTES.map(protectedRoute);
