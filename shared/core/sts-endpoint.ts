/**
 * Where the server may send a client's signed `sts:GetCallerIdentity` (docs/architecture.md#exchange): an exact
 * allow-list of AWS STS hosts, never a prefix/suffix test. A looser test made the server an open
 * proxy for signed requests (Vault CVE-2020-16250; aws-iam-authenticator CVE-2022-2385).
 * Hosts: https://docs.aws.amazon.com/general/latest/gr/sts.html
 */
import { EXCHANGE_REASONS } from './reasons.js';
import { exchangeRefusal, type ExchangeRefusal } from './exchange.js';

export type StsPartition = 'aws' | 'aws-cn' | 'aws-us-gov';

/** An allow-listed endpoint (`region` fixed by the host), or the local one (region from the scope). */
export type StsEndpoint =
  | { ok: true; url: string; host: string; partition: StsPartition; region: string }
  | { ok: true; url: string; host: string; partition: 'local'; region: undefined };

export type StsEndpointResolution = StsEndpoint | ExchangeRefusal;

const DIRECTION = '(north|south|east|west|central|northeast|northwest|southeast|southwest)';

/** Strict region names per partition: a region of one partition never resolves in another. */
export const STS_REGION_PATTERNS: Readonly<Record<StsPartition, RegExp>> = {
  aws: new RegExp(`^(us|eu|ap|sa|ca|me|af|il|mx)-${DIRECTION}-\\d$`),
  'aws-cn': /^cn-(north|northwest)-1$/,
  'aws-us-gov': /^us-gov-(east|west)-1$/,
};

/** `<prefix>.<region>.<suffix>` host shapes and the partitions whose regions they serve. */
const REGIONAL_HOSTS: readonly { prefix: string; suffix: string; partitions: readonly StsPartition[] }[] = [
  { prefix: 'sts', suffix: 'amazonaws.com', partitions: ['aws', 'aws-us-gov'] },
  { prefix: 'sts-fips', suffix: 'amazonaws.com', partitions: ['aws', 'aws-us-gov'] },
  { prefix: 'sts', suffix: 'api.aws', partitions: ['aws'] }, // dual-stack
  { prefix: 'sts', suffix: 'amazonaws.com.cn', partitions: ['aws-cn'] },
];

/** The partition a region belongs to (any region outside China and GovCloud is in `aws`). */
export function partitionOfRegion(region: string): StsPartition {
  if (STS_REGION_PATTERNS['aws-cn'].test(region)) return 'aws-cn';
  return STS_REGION_PATTERNS['aws-us-gov'].test(region) ? 'aws-us-gov' : 'aws';
}

/** The regional STS host of `region`, in its partition's domain (`amazonaws.com.cn` in China). */
export function regionalStsHost(region: string): string {
  return STS_REGION_PATTERNS['aws-cn'].test(region) ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

/** The global endpoint; STS signs and answers for it as us-east-1. */
const GLOBAL_HOST = 'sts.amazonaws.com';
const MAX_URL_LENGTH = 512;

const notAllowed = (detail: string): ExchangeRefusal => exchangeRefusal(EXCHANGE_REASONS.STS_ENDPOINT_NOT_ALLOWED, detail);

/**
 * Resolves the client's STS URL to an allow-listed endpoint, or refuses it. The URL must be
 * exactly `https://<host>/` in canonical form; `localEndpoint` (local runs) is accepted instead
 * when the URL is exactly `<its origin>/`.
 */
export function resolveStsEndpoint(rawUrl: string, localEndpoint?: string): StsEndpointResolution {
  if (rawUrl.length > MAX_URL_LENGTH) return notAllowed('the STS URL is too long');
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return notAllowed('the STS URL is not an absolute URL');
  }
  const local = localEndpoint === undefined ? undefined : resolveLocal(url, rawUrl, localEndpoint);
  if (local) return local;
  return checkUrlShape(url, rawUrl) ?? matchAllowList(url.hostname);
}

/** Local runs (moto): the configured origin exactly; http is allowed there and nowhere else. */
function resolveLocal(url: URL, rawUrl: string, localEndpoint: string): StsEndpointResolution | undefined {
  let local: URL;
  try {
    local = new URL(localEndpoint);
  } catch {
    return undefined;
  }
  if ((local.protocol !== 'http:' && local.protocol !== 'https:') || url.origin !== local.origin) return undefined;
  if (rawUrl !== `${local.origin}/`) return notAllowed('the local STS URL must be exactly its origin and "/"');
  return { ok: true, url: `${local.origin}/`, host: local.host, partition: 'local', region: undefined };
}

/** Each part of the URL that could carry the request elsewhere or change what STS sees. */
function checkUrlShape(url: URL, rawUrl: string): ExchangeRefusal | undefined {
  // http would send the signed request (a bearer credential for ~15 minutes) in clear text.
  if (url.protocol !== 'https:') return notAllowed('the STS URL must use https');
  // `https://sts.amazonaws.com@evil.com/` is a request to evil.com.
  if (url.username !== '' || url.password !== '' || authorityOf(rawUrl).includes('@')) return notAllowed('the STS URL must not carry userinfo');
  // A port (even :443 spelled out) is no STS endpoint of the allow-list and may reach another service.
  if (url.port !== '' || /:\d*$/.test(authorityOf(rawUrl).replace(/^\[[^\]]*\]/, ''))) return notAllowed('the STS URL must not name a port');
  // Query parameters override the signed body in STS (Consul's 2025 fix): not even a bare `?`.
  if (rawUrl.includes('?')) return notAllowed('the STS URL must not have a query string');
  if (rawUrl.includes('#')) return notAllowed('the STS URL must not have a fragment');
  if (url.pathname !== '/') return notAllowed('the STS URL path must be "/"');
  // What is left (upper case, percent-encoding, unicode turned punycode, backslashes, blanks,
  // a missing final "/") would make the host we check differ from the text the client sent.
  if (url.href !== rawUrl) return notAllowed('the STS URL is not in canonical form https://<host>/');
  return undefined;
}

/** The host and port part of an absolute URL's text, as written. */
function authorityOf(rawUrl: string): string {
  const start = rawUrl.indexOf('//');
  return start < 0 ? '' : (rawUrl.slice(start + 2).split(/[/?#\\]/, 1)[0] ?? '');
}

function matchAllowList(host: string): StsEndpointResolution {
  if (host.endsWith('.')) return notAllowed('the STS host must not end with a dot');
  // An address bypasses DNS names entirely (metadata services, internal networks).
  if (host.startsWith('[') || /^[\d.]+$/.test(host)) return notAllowed('the STS host must not be an IP address');
  if (host === GLOBAL_HOST) return endpoint(host, 'aws', 'us-east-1');
  for (const { prefix, suffix, partitions } of REGIONAL_HOSTS) {
    if (!host.startsWith(`${prefix}.`) || !host.endsWith(`.${suffix}`)) continue;
    const region = host.slice(prefix.length + 1, host.length - suffix.length - 1);
    const partition = partitions.find((p) => STS_REGION_PATTERNS[p].test(region));
    if (partition) return endpoint(host, partition, region);
  }
  return notAllowed('the STS host is not an allow-listed AWS STS endpoint');
}

function endpoint(host: string, partition: StsPartition, region: string): StsEndpoint {
  return { ok: true, url: `https://${host}/`, host, partition, region };
}
