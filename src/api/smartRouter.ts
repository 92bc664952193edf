import { Router } from 'express';
import type { IssuerRegistry } from '../auth/issuers.js';
import { smartConfiguration } from '../auth/smart.js';

/** SMART App Launch discovery: where apps get tokens, and which scopes mean anything here. */
export function smartRouter(issuers: IssuerRegistry): Router {
  const router = Router();
  router.get('/.well-known/smart-configuration', async (_req, res) => {
    const primary = await issuers.primary();
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(smartConfiguration(primary.metadata));
  });
  return router;
}
