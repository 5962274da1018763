/**
 * The issuer deployment's JWKS: its own published keys plus its peers' (shared/core/peer-jwks.ts).
 * A peer's JWKS is an outbound HTTPS call from the discovery Lambda, so it is read at most once
 * per `refreshSeconds` per container (a failure too: a peer that is down costs one bounded wait
 * per interval, not one per request), each read bounded by `timeoutMs` and MAX_PEER_JWKS_BYTES
 * (shared/adapters/http-request.ts: a redirect is an answer other than 200, never followed);
 * between reads discovery answers from memory. A peer's last good keys are served for
 * `keepSeconds` after its last good answer, then dropped.
 */
import { aggregateJwks, MAX_PEER_JWKS_BYTES, parsePeerJwks, type PeerJwksRefusal, type PeerKeys } from '../core/peer-jwks.js';
import type { PublicJwk } from '../core/tokens.js';
import type { Log, PublishedKeys } from '../ports.js';
import { ExpiringCache } from './expiring-cache.js';
import { createHttpRequester, HttpTransportError, type HttpAnswer, type HttpRequestOptions } from './http-request.js';

export interface AggregatedJwksOptions {
  /** Each peer deployment's `/.well-known/jwks.json`. */
  peerJwksUrls: readonly string[];
  refreshSeconds: number;
  keepSeconds: number;
  timeoutMs: number;
  /** Tests only: another transport (the default is node:http(s), bounded by timeoutMs and MAX_PEER_JWKS_BYTES). */
  request?: (url: string, request: HttpRequestOptions) => Promise<HttpAnswer>;
  clock?: () => number;
}

type Read = { ok: true; text: string } | { ok: false; reason: PeerJwksRefusal; message: string };

export class AggregatedJwks implements PublishedKeys {
  private readonly last = new Map<string, PeerKeys>();
  /** One read per peer per refresh interval, single-flight across concurrent requests. */
  private readonly reads: ExpiringCache<void>;
  private readonly clock: () => number;
  private readonly request: (url: string, request: HttpRequestOptions) => Promise<HttpAnswer>;
  /** The refusals last logged by aggregation, so a standing one is logged once, not per request. */
  private loggedRefusals = '';

  constructor(
    private readonly own: PublishedKeys,
    private readonly options: AggregatedJwksOptions,
    private readonly log: Log,
  ) {
    this.clock = options.clock ?? Date.now;
    this.request = options.request ?? createHttpRequester({ timeoutMs: options.timeoutMs, maxAnswerBytes: MAX_PEER_JWKS_BYTES });
    this.reads = new ExpiringCache<void>(options.refreshSeconds * 1000, this.clock);
  }

  async publicKeys(now: Date): Promise<PublicJwk[]> {
    const [own] = await Promise.all([this.own.publicKeys(now), ...this.options.peerJwksUrls.map((peer) => this.reads.getOrLoad(peer, () => this.refresh(peer)))]);
    const peers = this.options.peerJwksUrls.flatMap((peer) => this.last.get(peer) ?? []);
    const { keys, refusals } = aggregateJwks(own, peers, this.clock(), this.options.keepSeconds * 1000);
    const logged = JSON.stringify(refusals);
    if (logged !== this.loggedRefusals) for (const { message, ...refusal } of refusals) this.log.warn('peer keys not served', { ...refusal, detail: message });
    this.loggedRefusals = logged;
    return keys;
  }

  /** Reads one peer; never throws (a failure keeps the peer's last keys, and is logged). */
  private async refresh(peer: string): Promise<void> {
    const read = await this.read(peer);
    const parsed = read.ok ? parsePeerJwks(read.text) : read;
    if (!parsed.ok) {
      this.log.warn('peer JWKS refused', { peer, reason: parsed.reason, detail: parsed.message });
      // A peer that publishes private key material is compromised: none of its keys may verify.
      if (parsed.reason === 'PEER_JWKS_PRIVATE_KEY') this.last.delete(peer);
      return;
    }
    for (const { message, ...refused } of parsed.refusedKeys) this.log.warn('peer key refused', { peer, ...refused, detail: message });
    this.last.set(peer, { peer, keys: parsed.keys, fetchedAt: this.clock() });
  }

  private async read(peer: string): Promise<Read> {
    try {
      const answer = await this.request(peer, { method: 'GET', headers: { accept: 'application/json' } });
      if (answer.status !== 200) return { ok: false, reason: 'PEER_JWKS_UNREACHABLE', message: `answered ${answer.status}` };
      return { ok: true, text: answer.text };
    } catch (error) {
      if (error instanceof HttpTransportError && error.code === 'ANSWER_TOO_LARGE') return { ok: false, reason: 'PEER_JWKS_TOO_LARGE', message: error.message };
      return { ok: false, reason: 'PEER_JWKS_UNREACHABLE', message: error instanceof Error ? error.message : String(error) };
    }
  }
}
