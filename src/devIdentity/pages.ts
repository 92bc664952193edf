import type http from 'node:http';
import { escapeHtml } from '../util/html.js';

/** The development provider's two pages. Deliberately plain: they exist to be driven by people and tests. */

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>
<p><strong>Development identity provider: demo users only, never for real patients.</strong></p>
<h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function renderLogin(uid: string, clientId: string, problem?: string): string {
  return page(
    'Sign in',
    `${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<p>Signing in to <code>${escapeHtml(clientId)}</code>.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`,
  );
}

export function renderConsent(uid: string, clientId: string, scope: string): string {
  return page(
    'Allow access',
    `<p><code>${escapeHtml(clientId)}</code> asks for: <code>${escapeHtml(scope)}</code></p>
<form method="post" action="/interaction/${escapeHtml(uid)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

/** A small urlencoded form body (bounded: these forms have a few short fields). */
export async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 10000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}
