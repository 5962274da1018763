/**
 * Sends the exchange's rebuilt GetCallerIdentity to the STS endpoint the server chose, and
 * nothing else: the URL, the signed headers and the body come from the validated request. The
 * answer is bounded and parsed strictly; STS's body never reaches an error message.
 */
import type { StsCall } from '../core/exchange.js';
import { StsRejectedError, StsUnavailableError, UpstreamThrottledError } from '../errors.js';
import type { CallerIdentity, CallerIdentityVerifier } from '../ports.js';
import { createHttpRequester, type HttpAnswer, type HttpRequestOptions } from './http-request.js';

const MAX_ANSWER_BYTES = 16 * 1024;

export class HttpStsVerifier implements CallerIdentityVerifier {
  private readonly http: (url: string, request: HttpRequestOptions) => Promise<HttpAnswer>;

  constructor(options: { timeoutMs: number }) {
    this.http = createHttpRequester({ timeoutMs: options.timeoutMs });
  }

  async verify(call: StsCall): Promise<CallerIdentity> {
    let answer: HttpAnswer;
    try {
      // Accept is not signed and need not be: SigV4 ignores unsigned headers.
      answer = await this.http(call.url, { method: 'POST', headers: { ...call.headers, accept: 'application/json' }, body: call.body });
    } catch (error) {
      throw new StsUnavailableError(`STS did not answer (${(error as { code?: string }).code ?? 'network error'})`, { cause: error });
    }
    if (answer.text.length > MAX_ANSWER_BYTES) throw new StsUnavailableError('STS answer too large');
    const code = errorCode(answer.text);
    if (answer.status === 400 && /Throttl/i.test(code ?? '')) throw new UpstreamThrottledError('STS throttled GetCallerIdentity');
    if (answer.status === 429) throw new UpstreamThrottledError('STS throttled GetCallerIdentity');
    if (answer.status === 403 || answer.status === 400) throw new StsRejectedError(`STS refused the signed request (${code ?? `HTTP ${answer.status}`})`);
    if (answer.status !== 200) throw new StsUnavailableError(`STS answered HTTP ${answer.status}`);
    const identity = parseIdentity(answer.text);
    if (!identity) throw new StsUnavailableError('STS answered an unreadable GetCallerIdentity result');
    return identity;
  }
}

/** STS's JSON answer (`Accept: application/json`), or its XML one from endpoints that ignore Accept. */
export function parseIdentity(text: string): CallerIdentity | undefined {
  const fields = jsonFields(text) ?? xmlFields(text);
  if (!fields) return undefined;
  const { Arn: arn, UserId: userId, Account: account } = fields;
  if (typeof arn !== 'string' || typeof userId !== 'string' || typeof account !== 'string') return undefined;
  if (!/^\d{12}$/.test(account) || arn.length > 2048 || userId.length > 256) return undefined;
  return { arn, userId, account };
}

function jsonFields(text: string): Record<string, unknown> | undefined {
  try {
    const json = JSON.parse(text) as { GetCallerIdentityResponse?: { GetCallerIdentityResult?: Record<string, unknown> } };
    return json?.GetCallerIdentityResponse?.GetCallerIdentityResult;
  } catch {
    return undefined;
  }
}

function xmlFields(text: string): Record<string, unknown> | undefined {
  const result = /<GetCallerIdentityResult>([\s\S]*?)<\/GetCallerIdentityResult>/.exec(text)?.[1];
  if (!result) return undefined;
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(result)?.[1];
  return { Arn: field('Arn'), UserId: field('UserId'), Account: field('Account') };
}

function errorCode(text: string): string | undefined {
  try {
    const json = JSON.parse(text) as { Error?: { Code?: unknown } };
    if (typeof json?.Error?.Code === 'string') return json.Error.Code.slice(0, 64);
  } catch {
    // XML error document
  }
  return /<Code>([A-Za-z.]{1,64})<\/Code>/.exec(text)?.[1];
}
