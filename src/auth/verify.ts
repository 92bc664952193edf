import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { unauthorized, unavailable, type AppError } from '../outcome/errors.js';
import type { IssuerRegistry } from './issuers.js';

export interface VerifierSettings {
  audience: string;
  algorithms: readonly string[];
  clockToleranceSeconds: number;
  retryAfterSeconds: number;
}

const REALM = 'phb-facade';

/** RFC 6750 challenge; the reason is ours, so it never carries quotes or token content. */
export function bearerChallenge(
  error?: 'invalid_token' | 'insufficient_scope',
  description?: string,
  scope?: string,
): string {
  const parts = [`realm="${REALM}"`];
  if (error) parts.push(`error="${error}"`);
  if (description) parts.push(`error_description="${description}"`);
  if (scope) parts.push(`scope="${scope}"`);
  return `Bearer ${parts.join(', ')}`;
}

function invalidToken(reason: string): AppError {
  return unauthorized(`Access token refused: ${reason}`, bearerChallenge('invalid_token', reason));
}

/** The bearer token from an Authorization header, or a 401 saying what is missing. */
export function bearerToken(authorization: string | undefined): string {
  if (!authorization) {
    throw unauthorized('No access token: send Authorization: Bearer <token>', bearerChallenge());
  }
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
  if (!match) throw invalidToken('the Authorization header is not a Bearer token');
  return match[1] as string;
}

/** Why jose refused a token, in words a client developer can act on. */
function reasonFor(e: unknown): string | undefined {
  if (e instanceof errors.JWTExpired) return 'the token has expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return 'the token is not yet valid (nbf)';
    if (e.claim === 'aud') return 'the token is for another audience';
    if (e.claim === 'iss') return 'the token is from an untrusted issuer';
    if (e.claim === 'iat') return 'the token was issued in the future';
    return `the ${e.claim} claim is missing or invalid`;
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (e instanceof errors.JOSEAlgNotAllowed) return 'the signing algorithm is not allowed';
  if (e instanceof errors.JWKSNoMatchingKey) return 'the signing key id (kid) is unknown to the issuer';
  if (e instanceof errors.JWKSMultipleMatchingKeys) return 'the signing key is ambiguous (no kid)';
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return 'the token is malformed';
  return undefined;
}

/**
 * Verifies a bearer JWT against its (trusted) issuer's published keys: signature, iss, aud, exp,
 * nbf and the algorithm allow-list. Anything else about the caller is the permission table's job.
 */
export class TokenVerifier {
  constructor(
    private readonly issuers: IssuerRegistry,
    private readonly settings: VerifierSettings,
  ) {}

  async verify(token: string): Promise<JWTPayload> {
    let alg: string | undefined;
    let iss: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      throw invalidToken('the token is not a JWT');
    }
    // Checked before any key lookup: `none` and HMAC (e.g. HS256 keyed with the public key) are forgeries.
    if (!alg || alg === 'none' || alg.startsWith('HS') || !this.settings.algorithms.includes(alg)) {
      throw invalidToken(`the signing algorithm ${alg ?? '(none)'} is not allowed`);
    }
    if (!iss || !this.issuers.isTrusted(iss)) throw invalidToken('the token is from an untrusted issuer');
    const trusted = await this.issuers.get(iss);
    try {
      const { payload } = await jwtVerify(token, trusted.keys, {
        issuer: trusted.issuer,
        audience: this.settings.audience,
        algorithms: [...this.settings.algorithms],
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['exp', 'iss', 'aud'],
      });
      return payload;
    } catch (e) {
      const reason = reasonFor(e);
      if (reason) throw invalidToken(reason);
      // The keys could not be fetched: the caller did nothing wrong.
      throw unavailable('The identity provider signing keys cannot be fetched', this.settings.retryAfterSeconds);
    }
  }
}
