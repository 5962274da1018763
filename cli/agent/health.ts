/**
 * `ecs-mesh-agent --healthcheck`: the container's health, as cheap as a file read. Healthy while
 * the token file holds a token that has not expired, which is exactly what the proxy needs; the
 * agent refreshes it at about two thirds of its lifetime, so an unhealthy agent has been failing
 * to refresh for a third of a token's life.
 */
import { decodeJwt } from 'jose';

export type TokenHealth = { healthy: true; expiresAt: Date } | { healthy: false; reason: string };

/** Reads the token at `path` and says whether it is still valid at `now` (ms). */
export function checkTokenFile(path: string, now: number, readText: (path: string) => string): TokenHealth {
  let token: string;
  try {
    token = readText(path).trim();
  } catch (error) {
    return { healthy: false, reason: `no token at ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return { healthy: false, reason: `${path} holds no JWT` };
  }
  if (exp === undefined) return { healthy: false, reason: `the token at ${path} has no exp` };
  const expiresAt = new Date(exp * 1000);
  if (expiresAt.getTime() <= now) return { healthy: false, reason: `the token at ${path} expired at ${expiresAt.toISOString()}` };
  return { healthy: true, expiresAt };
}
