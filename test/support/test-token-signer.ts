/** A TokenSigner with one in-memory key pair, so tests can verify what was signed. */
import { SignJWT, decodeProtectedHeader, generateKeyPair, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import type { TokenSigner } from '../../shared/ports.js';
import type { SignedToken } from '../../shared/core/tokens.js';

export class TestTokenSigner implements TokenSigner {
  /** How many tokens were signed (each one a mint). */
  signed = 0;

  private constructor(
    readonly kid: string,
    readonly alg: 'RS256' | 'ES256',
    private readonly privateKey: CryptoKey,
    readonly publicKey: CryptoKey,
  ) {}

  static async create(kid = 'test-key-1', alg: 'RS256' | 'ES256' = 'RS256'): Promise<TestTokenSigner> {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    return new TestTokenSigner(kid, alg, privateKey, publicKey);
  }

  async sign(claims: Record<string, unknown>, _now: Date): Promise<SignedToken> {
    this.signed++;
    const token = await new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'JWT' }).sign(this.privateKey);
    return { token, kid: this.kid, alg: this.alg };
  }

  /** The kids whose tokens verify: its own, and any a test publishes beside it (another key of the set). */
  readonly published = new Set<string>();

  async publishes(kid: string, _now: Date): Promise<boolean> {
    return kid === this.kid || this.published.has(kid);
  }

  /** Verifies the signature (and the time claims at `now`); returns the payload and header. */
  async verify(token: string, now: Date) {
    const { payload } = await jwtVerify(token, this.publicKey, { currentDate: now, algorithms: [this.alg] });
    return { payload, header: decodeProtectedHeader(token) };
  }
}
