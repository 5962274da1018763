/** The auth exchange's contract (docs/architecture.md#exchange): what a validated request carries. */
import type { ObjectRef } from './kubernetes-types.js';
import type { ExchangeReason } from './reasons.js';

/** The header, signed by the agent, that binds a signature to this deployment (its server ID). */
export const AUDIENCE_HEADER = 'x-ecsmesh-server-id';
/** Vault's own server-id header (`X-Vault-AWS-IAM-Server-ID`), which its clients sign: the same role. */
export const VAULT_AUDIENCE_HEADER = 'x-vault-aws-iam-server-id';

/** The STS call the server makes itself, rebuilt from the signed parts. */
export interface StsCall {
  /** Exactly `https://<allow-listed host>/` (or the configured local endpoint). */
  url: string;
  region: string;
  /** The signed headers as the client signed them (names lower-cased), and nothing else. */
  headers: Record<string, string>;
  body: string;
}

export interface ValidatedExchange {
  sts: StsCall;
  taskArn: string;
  taskId: string;
  /** `<namespace>/<name>` asked for, if any. */
  requestedGroup?: ObjectRef;
  labels: Record<string, string>;
  /** The access key id from the credential scope (not secret; useful in audits). */
  accessKeyId: string;
  signedAt: Date;
  /** A digest of the signature: the replay key (the signature itself is never stored). */
  replayKey: string;
}

/** A refused exchange: its code, why (never a secret), and for a limit, when to try again. */
export type ExchangeRefusal = { ok: false; reason: ExchangeReason; detail: string; retryAfterSeconds?: number };

/** The one way an exchange refusal is built, from parsing to the use case's last check. */
export function exchangeRefusal(reason: ExchangeReason, detail: string, retryAfterSeconds?: number): ExchangeRefusal {
  return { ok: false, reason, detail, ...(retryAfterSeconds ? { retryAfterSeconds } : {}) };
}
export type ExchangeValidation = { ok: true; value: ValidatedExchange } | ExchangeRefusal;

export interface ExchangeValidationOptions {
  /** This deployment's server ID, expected in the signed AUDIENCE_HEADER. */
  audience: string;
  now: Date;
  /** How old a signature may be (default 300 s) and how far ahead of `now` (default 60 s). */
  maxAgeSeconds: number;
  maxSkewSeconds: number;
  /** Local runs only: an http(s) endpoint (moto) accepted instead of the AWS allow-list. */
  localStsEndpoint?: string;
}
