import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';

/**
 * A small real reverse proxy in front of the destination HAPI, standing in for a PHR's
 * customer endpoint: it checks every request's bearer JWT against the destination's identity
 * provider (signature, issuer, audience) before passing it on, and records what came through.
 * It can also refuse chosen writes with a 400 OperationOutcome, as a destination's own
 * business rule would, and answers 503 while the HAPI behind it is down, as a gateway does.
 */

export interface SeenRequest {
  method: string;
  /** Path and decoded query, e.g. `Goal?identifier=system|Goal/x`. */
  target: string;
  status: number;
  clientId?: string;
  headers: Record<string, string | undefined>;
}

export class DestinationProxy {
  readonly seen: SeenRequest[] = [];
  /** Distinct access tokens presented. */
  readonly tokens = new Set<string>();
  /** Requests refused for a missing or bad token. */
  unauthorized = 0;
  /** Writes matching this are refused with 400. */
  refuse: ((method: string, target: string) => boolean) | undefined;
  private server: http.Server | undefined;
  private keys: JWTVerifyGetKey | undefined;
  private issuer = '';
  private audience = '';

  constructor(private readonly upstream: string) {}

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('proxy not started');
    return `http://127.0.0.1:${address.port}/fhir`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  /** Tokens must come from this issuer, for this audience. */
  trust(issuer: string, audience: string): void {
    this.issuer = issuer;
    this.audience = audience;
    this.keys = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  writes(filter: (r: SeenRequest) => boolean = () => true): SeenRequest[] {
    return this.seen.filter((r) => (r.method === 'PUT' || r.method === 'DELETE') && filter(r));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = (req.url ?? '/').replace(/^\/fhir\/?/, '');
    const target = decodeURIComponent(path);
    const method = req.method ?? 'GET';
    const record = (status: number, clientId?: string): void => {
      this.seen.push({
        method,
        target,
        status,
        ...(clientId ? { clientId } : {}),
        headers: { 'x-team-id': req.headers['x-team-id'] as string | undefined },
      });
    };
    const outcome = (status: number, code: string, diagnostics: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] }));
    };

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    let clientId: string | undefined;
    try {
      if (!token || !this.keys) throw new Error('no token');
      const { payload } = await jwtVerify(token, this.keys, { issuer: this.issuer, audience: this.audience });
      clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
      this.tokens.add(token);
    } catch {
      this.unauthorized++;
      record(401);
      outcome(401, 'login', 'A valid access token is required', { 'www-authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    if (this.refuse?.(method, target)) {
      record(400, clientId);
      outcome(400, 'business-rule', 'This destination does not accept this resource');
      return;
    }
    let upstream: Response;
    try {
      upstream = await fetch(`${this.upstream}/${path}`, {
        method,
        headers: {
          accept: 'application/fhir+json',
          ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}),
          ...(req.headers.prefer ? { prefer: req.headers.prefer as string } : {}),
        },
        ...(body.length ? { body } : {}),
      });
    } catch {
      record(503, clientId);
      outcome(503, 'transient', 'The server behind this gateway is not answering');
      return;
    }
    const text = await upstream.text();
    record(upstream.status, clientId);
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/fhir+json' });
    res.end(text);
  }
}
