import request from 'supertest';
import type { Express } from 'express';
import type { Role } from '../../src/auth/caller.js';
import { uniqueId } from './hapi.js';

/**
 * A thin client for /api/v1 in tests: real tokens per role, a fresh Idempotency-Key per POST
 * unless one is given, and the response as supertest returns it.
 */
export class ApiClient {
  private readonly tokens = new Map<Role, string>();

  constructor(readonly app: Express, private readonly tokenFor: (role: Role) => Promise<string>) {}

  async token(role: Role): Promise<string> {
    const known = this.tokens.get(role);
    if (known) return known;
    const token = await this.tokenFor(role);
    this.tokens.set(role, token);
    return token;
  }

  async get(role: Role, path: string): Promise<request.Response> {
    return request(this.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${await this.token(role)}`);
  }

  async post(role: Role, path: string, body: unknown, options: { key?: string; ifMatch?: string } = {}): Promise<request.Response> {
    let r = request(this.app).post(`/api/v1${path}`).set('Authorization', `Bearer ${await this.token(role)}`)
      .set('Idempotency-Key', options.key ?? uniqueId('key'));
    if (options.ifMatch !== undefined) r = r.set('If-Match', options.ifMatch);
    return r.send(body as object);
  }
}

/** A valid NHS number in the 999 test range that no earlier run has used (Modulus 11). */
export function freshNhsNumber(): string {
  for (;;) {
    const nine = `999${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return `${nine}${check === 11 ? 0 : check}`;
  }
}
