import type { Request } from 'express';
import { resourceIdParam } from '../auth/compartment.js';
import { badRequest } from '../outcome/errors.js';
import { DEAD_LETTER_STATUSES, type DeadLetterStatus } from '../publish/records.js';
import { deliveryStatus, listDeadLetters, requestReplay } from '../publish/status.js';
import type { ProtectedRoute } from './route.js';

/**
 * Operating the outbound publisher (src/publish): delivery status and dead letters. The
 * `service-operator` role holds these rows of the permission table (Basic: the publisher's
 * cursors and dead letters are Basic resources); they touch no one patient's record.
 */

const DESTINATION = /^[a-z0-9][a-z0-9-]{0,39}$/;

function destinationParam(req: Request): string | undefined {
  const value = (req.query as Record<string, unknown>).destination;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !DESTINATION.test(value))
    throw badRequest('destination must be a destination id', '/destination');
  return value;
}

function statusParam(req: Request): DeadLetterStatus | undefined {
  const value = (req.query as Record<string, unknown>).status;
  if (value === undefined) return 'open';
  if (value === 'all') return undefined;
  if (typeof value !== 'string' || !(DEAD_LETTER_STATUSES as readonly string[]).includes(value)) {
    throw badRequest(`status must be one of ${[...DEAD_LETTER_STATUSES, 'all'].join(', ')}`, '/status');
  }
  return value as DeadLetterStatus;
}

const noPatient = (): undefined => undefined;

export const ADMIN_ROUTES: readonly ProtectedRoute[] = [
  {
    face: 'api',
    method: 'get',
    path: '/v1/admin/delivery',
    resource: 'Basic',
    interaction: 'read',
    administrative: true,
    patient: noPatient,
    urlFor: () => '/api/v1/admin/delivery',
    handle: async (store, req, res) => {
      res.json({ destinations: await deliveryStatus(store, Date.now(), destinationParam(req)) });
    },
  },
  {
    face: 'api',
    method: 'get',
    path: '/v1/admin/dead-letters',
    resource: 'Basic',
    interaction: 'search',
    administrative: true,
    patient: noPatient,
    urlFor: () => '/api/v1/admin/dead-letters',
    handle: async (store, req, res) => {
      const destination = destinationParam(req);
      const status = statusParam(req);
      res.json(
        await listDeadLetters(store, { ...(destination ? { destination } : {}), ...(status ? { status } : {}) }),
      );
    },
  },
  {
    face: 'api',
    method: 'post',
    path: '/v1/admin/dead-letters/:id/replay',
    resource: 'Basic',
    interaction: 'update',
    administrative: true,
    patient: noPatient,
    id: (req) => resourceIdParam(req.params.id, '/id'),
    urlFor: () => '/api/v1/admin/dead-letters/phb-dl-0/replay',
    handle: async (store, req, res) => {
      const letter = await requestReplay(store, resourceIdParam(req.params.id, '/id'), Date.now());
      // Accepted: the publisher's next pass sends it and marks it replayed (or open again, with the new outcome).
      res.status(202).location(`/api/v1/admin/dead-letters?status=all`).json({ deadLetter: letter });
    },
  },
];
