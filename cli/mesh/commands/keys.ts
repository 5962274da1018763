/**
 * `keys list`, `keys export`, `keys rotate` and `keys revoke`: the signing keys of each claim profile. Verifiers
 * that do not read our JWKS (Kuma and Kong Mesh read static PEM keys from the CP config) get the
 * pending key from `keys export` while it is pending, before it signs.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { EXIT_CODES } from '../errors.js';
import { renderTable, renderValue } from '../output.js';
import type { KeyChange, KeyItem } from '../schemas.js';
import type { CommandContext, CommandResult } from './context.js';

export const EXPORT_FORMATS = ['pem', 'jwks'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface KeySelection {
  profile?: string;
  kid?: string;
}

/** Prints every published key with its state and times. */
export async function listKeys(selection: KeySelection, ctx: CommandContext): CommandResult {
  const items = select(await ctx.client.listKeys(selection.profile), selection);
  if (ctx.output !== 'table') ctx.stdout(renderValue(items, ctx.output));
  else ctx.stdout(renderTable(['profile', 'kid', 'alg', 'state', 'signs from', 'retires'], items.map((k) => [k.profile, k.kid, k.alg, k.state, k.activatesAt, k.retiresAt])));
  return EXIT_CODES.OK;
}

/**
 * `--format jwks`: `{"keys": [...]}` of one profile. `--format pem`: one SPKI PEM block per key,
 * each after a `# profile=… kid=… state=…` line (PEM parsers, Kuma's included, skip such text).
 */
export async function exportKeys(format: ExportFormat, selection: KeySelection, ctx: CommandContext): CommandResult {
  const items = select(await ctx.client.listKeys(selection.profile), selection);
  if (selection.kid !== undefined && items.length === 0) {
    ctx.stderr(`no published key ${selection.kid}${selection.profile ? ` in profile ${selection.profile}` : ''}\n`);
    return EXIT_CODES.FAILED;
  }
  if (format === 'jwks') {
    ctx.stdout(`${JSON.stringify({ keys: items.map((k) => ({ ...k.jwk, kid: k.kid, alg: k.alg, use: 'sig' })) }, null, 2)}\n`);
    return EXIT_CODES.OK;
  }
  ctx.stdout(items.map(pemBlock).join(''));
  return EXIT_CODES.OK;
}

/** Rotates and prints what each profile's key set did. */
export async function rotateKeys(request: { profile?: string; emergency?: boolean }, ctx: CommandContext): CommandResult {
  const changes = await ctx.client.rotateKeys(request);
  if (ctx.output !== 'table') ctx.stdout(renderValue(changes, ctx.output));
  else ctx.stdout(renderTable(['profile', 'outcome', 'active', 'pending', 'signs from', 'retiring'], changes.map(row)));
  if (request.emergency)
    ctx.stderr('emergency rotation: the new key signs now (every signer within seconds); verifiers that have not fetched it refuse the new tokens until they do. Withdraw the replaced key with `keys revoke KID`\n');
  for (const change of changes) for (const revoked of change.revoked ?? []) ctx.stderr(`${revocationLine(change.profile, revoked)}\n`);
  return EXIT_CODES.OK;
}

/** Withdraws a key and says what stops verifying. */
export async function revokeKey(request: { kid: string; profile?: string }, ctx: CommandContext): CommandResult {
  const answer = await ctx.client.revokeKey(request);
  if (ctx.output !== 'table') ctx.stdout(renderValue(answer, ctx.output));
  else ctx.stdout(renderTable(['profile', 'outcome', 'active', 'pending', 'signs from', 'retiring'], [row(answer.change)]));
  ctx.stderr(`${answer.stopsVerifying}\n`);
  return EXIT_CODES.OK;
}

function revocationLine(profile: string, revoked: NonNullable<KeyChange['revoked']>[number]): string {
  if (!revoked.signed) return `${profile} key ${revoked.kid} revoked: it never signed, no token stops verifying`;
  return `${profile} key ${revoked.kid} revoked to make room: tokens signed with it stop verifying (they would have verified until ${revoked.tokensWouldVerifyUntil ?? 'they expired'})`;
}

/** A key as PEM (SubjectPublicKeyInfo), after a comment naming it. */
export function pemBlock(key: KeyItem): string {
  const pem = createPublicKey({ key: key.jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const times = [key.activatesAt && `signs-from=${key.activatesAt}`, key.retiresAt && `retires=${key.retiresAt}`].filter(Boolean).join(' ');
  return `# profile=${key.profile} kid=${key.kid} alg=${key.alg} state=${key.state}${times ? ` ${times}` : ''}\n${pem.endsWith('\n') ? pem : `${pem}\n`}`;
}

function select(items: KeyItem[], selection: KeySelection): KeyItem[] {
  return items.filter((k) => (selection.profile === undefined || k.profile === selection.profile) && (selection.kid === undefined || k.kid === selection.kid));
}

function row(c: KeyChange): (string | undefined)[] {
  return [c.profile, c.outcome, c.activeKid, c.pendingKid, c.activatesAt, c.retiredKids.join(',')];
}
