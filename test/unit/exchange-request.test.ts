import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_HEADER, type ExchangeValidationOptions } from '../../shared/core/exchange.js';
import { validateExchangeRequest } from '../../shared/core/exchange-request.js';
import { EXCHANGE_REASONS, type ExchangeReason } from '../../shared/core/reasons.js';
import { NOW } from '../fixtures/builders.js';
import { ACCESS_KEY_ID, b64, GCI_BODY, SERVER_ID, signedExchangeBody, signedExchangeWire, TASK_ARN, TASK_ID, type SignOptions, type WireRequest } from '../fixtures/signed-exchange.js';

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');
const OPTIONS: ExchangeValidationOptions = { audience: SERVER_ID, now: NOW, maxAgeSeconds: 300, maxSkewSeconds: 60 };
const seconds = (n: number): Date => new Date(NOW.getTime() + n * 1000);
const validate = (raw: string, options: Partial<ExchangeValidationOptions> = {}) => validateExchangeRequest(raw, { ...OPTIONS, ...options }, digest);

/** Replaces the Authorization value after signing. */
const editAuthorization = (edit: (value: string) => string): SignOptions['afterSign'] => (headers) => {
  headers.Authorization = [edit(headers.Authorization?.[0] ?? '')];
};

describe('validateExchangeRequest', () => {
  it('accepts a signed GetCallerIdentity and rebuilds the STS call from the signed parts only', async () => {
    const raw = await signedExchangeBody({ afterSign: (h) => { h['User-Agent'] = ['agent/1.0']; h.Accept = ['text/html']; } });

    const result = validate(raw);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const authorization = JSON.parse(Buffer.from((JSON.parse(raw) as WireRequest).iam_request_headers as string, 'base64').toString()).Authorization[0] as string;
    const signature = /Signature=([0-9a-f]{64})$/.exec(authorization)?.[1];
    const credential = /Credential=([^,]+),/.exec(authorization)?.[1];
    expect(credential).toBe(`${ACCESS_KEY_ID}/20261123/us-east-1/sts/aws4_request`);
    expect(result.value).toEqual({
      sts: {
        url: 'https://sts.us-east-1.amazonaws.com/',
        region: 'us-east-1',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          host: 'sts.us-east-1.amazonaws.com',
          'x-amz-date': '20261123T100000Z',
          'x-amz-security-token': 'session-token-for-tests',
          [AUDIENCE_HEADER]: SERVER_ID,
        },
        body: GCI_BODY,
      },
      taskArn: TASK_ARN,
      taskId: TASK_ID,
      requestedGroup: undefined,
      labels: {},
      accessKeyId: ACCESS_KEY_ID,
      signedAt: NOW,
      replayKey: digest(`${signature}/${credential}`),
    });
  });

  it('gives two signatures two replay keys and one signature one', async () => {
    const first = validate(await signedExchangeBody());
    const again = validate(await signedExchangeBody());
    const later = validate(await signedExchangeBody({ signingDate: seconds(-1) }));

    expect(first.ok && again.ok && first.value.replayKey === again.value.replayKey).toBe(true);
    expect(first.ok && later.ok && first.value.replayKey !== later.value.replayKey).toBe(true);
  });

  const accepted: [string, SignOptions, Partial<ExchangeValidationOptions>, { url: string; region: string }][] = [
    ['a regional endpoint', {}, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['the global endpoint, signed for us-east-1', { url: 'https://sts.amazonaws.com/' }, {}, { url: 'https://sts.amazonaws.com/', region: 'us-east-1' }],
    ['a FIPS endpoint', { url: 'https://sts-fips.us-west-2.amazonaws.com/' }, {}, { url: 'https://sts-fips.us-west-2.amazonaws.com/', region: 'us-west-2' }],
    ['a dual-stack endpoint', { url: 'https://sts.eu-central-1.api.aws/' }, {}, { url: 'https://sts.eu-central-1.api.aws/', region: 'eu-central-1' }],
    ['an aws-cn endpoint', { url: 'https://sts.cn-northwest-1.amazonaws.com.cn/' }, {}, { url: 'https://sts.cn-northwest-1.amazonaws.com.cn/', region: 'cn-northwest-1' }],
    ['an aws-us-gov endpoint', { url: 'https://sts.us-gov-west-1.amazonaws.com/' }, {}, { url: 'https://sts.us-gov-west-1.amazonaws.com/', region: 'us-gov-west-1' }],
    ['an aws-us-gov FIPS endpoint', { url: 'https://sts-fips.us-gov-east-1.amazonaws.com/' }, {}, { url: 'https://sts-fips.us-gov-east-1.amazonaws.com/', region: 'us-gov-east-1' }],
    ['long-term credentials (no session token)', { sessionToken: undefined }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['a requested workloadGroup and labels', { wire: (w) => { w.workloadGroup = 'bookinfo/ratings'; w.labels = { version: 'v2', 'example.com/tier': 'backend' }; } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['Version before Action', { body: 'Version=2011-06-15&Action=GetCallerIdentity' }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['a Go client: no Host in the header map, lone string values', { afterSign: (h) => { delete h.Host; h['X-Amz-Date'] = h['X-Amz-Date']?.[0] as never; } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['content-type without charset', { extraHeaders: { 'content-type': 'application/x-www-form-urlencoded' } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['a signed, matching content-length', { extraHeaders: { 'content-length': String(GCI_BODY.length) } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['signed almost maxAge ago', { signingDate: seconds(-299) }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['signed within the allowed skew ahead', { signingDate: seconds(59) }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['the local endpoint, region from the scope', { url: 'http://localhost:5000/', region: 'eu-west-1' }, { localStsEndpoint: 'http://localhost:5000' }, { url: 'http://localhost:5000/', region: 'eu-west-1' }],
    // What Vault's parser accepts from its stock clients.
    ["Vault's server-id header instead of ours", { audience: null, extraHeaders: { 'x-vault-aws-iam-server-id': SERVER_ID } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['the header map as a JSON object, not base64', { wire: (w) => { w.iam_request_headers = JSON.parse(Buffer.from(w.iam_request_headers as string, 'base64').toString()) as never; } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['base64 wrapped at 76 columns (CRLF and LF)', { wire: (w) => { w.iam_request_headers = (w.iam_request_headers as string).replace(/.{76}/g, '$&\r\n'); w.iam_request_url = `${w.iam_request_url as string}\n`; } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
    ['a signed content-length the Go client keeps out of the map', { extraHeaders: { 'content-length': String(GCI_BODY.length) }, afterSign: (h) => { delete h['Content-Length']; delete h.Host; } }, {}, { url: 'https://sts.us-east-1.amazonaws.com/', region: 'us-east-1' }],
  ];

  it.each(accepted)('accepts %s', async (_name, sign, options, expected) => {
    const result = validate(await signedExchangeBody(sign), options);

    expect(result).toMatchObject({ ok: true, value: { sts: { url: expected.url, region: expected.region, body: sign.body ?? GCI_BODY } } });
  });

  it('keeps the requested group and labels', async () => {
    const result = validate(await signedExchangeBody({ wire: (w) => { w.workloadGroup = 'bookinfo/ratings'; w.labels = { version: 'v2' }; } }));

    expect(result).toMatchObject({ ok: true, value: { requestedGroup: { namespace: 'bookinfo', name: 'ratings' }, labels: { version: 'v2' } } });
  });

  type Refused = { name: string; sign?: SignOptions; options?: Partial<ExchangeValidationOptions>; raw?: (body: string) => string; reason: ExchangeReason };
  const R = EXCHANGE_REASONS;
  const setUrl = (url: string): SignOptions => ({ parts: (p) => { p.url = url; } });
  const setBody = (body: string): SignOptions => ({ body });
  const refused: Refused[] = [
    // The endpoint: where the server would send a signed request.
    { name: 'another host (sts.evil.com)', sign: { url: 'https://sts.evil.com/', region: 'us-east-1' }, reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'an STS host as a prefix of another domain', sign: { url: 'https://sts.amazonaws.com.evil.com/', region: 'us-east-1' }, reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'the STS host in the path', sign: setUrl('https://evil.com/sts.amazonaws.com'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'an IPv4 literal', sign: setUrl('https://52.94.0.1/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'an IPv6 literal', sign: setUrl('https://[::1]/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'localhost', sign: setUrl('https://localhost/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'userinfo before another host', sign: setUrl('https://sts.amazonaws.com@evil.com/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'the explicit default port :443', sign: setUrl('https://sts.us-east-1.amazonaws.com:443/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'another port :8443', sign: setUrl('https://sts.us-east-1.amazonaws.com:8443/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'http', sign: setUrl('http://sts.us-east-1.amazonaws.com/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a trailing dot', sign: setUrl('https://sts.us-east-1.amazonaws.com./'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'an upper-case host', sign: setUrl('https://STS.us-east-1.amazonaws.com/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a unicode look-alike host', sign: setUrl('https://sts.us-east-1.amazon\u0430ws.com/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a punycode host', sign: setUrl('https://sts.us-east-1.xn--amazonws-5fg.com/'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'an unknown region', sign: { url: 'https://sts.xx-east-1.amazonaws.com/' }, reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a gov region under the China suffix', sign: { url: 'https://sts.us-gov-west-1.amazonaws.com.cn/' }, reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a query string (?Action=GetCallerIdentity)', sign: setUrl('https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a bare "?"', sign: setUrl('https://sts.us-east-1.amazonaws.com/?'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a fragment', sign: setUrl('https://sts.us-east-1.amazonaws.com/#x'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'the path /x', sign: setUrl('https://sts.us-east-1.amazonaws.com/x'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'no final "/"', sign: setUrl('https://sts.us-east-1.amazonaws.com'), reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'a signed Host other than the URL host', sign: { url: 'https://sts.us-west-2.amazonaws.com/', region: 'us-east-1', ...setUrl('https://sts.us-east-1.amazonaws.com/') }, reason: R.STS_ENDPOINT_NOT_ALLOWED },
    { name: 'the local endpoint when none is configured', sign: { url: 'http://localhost:5000/' }, reason: R.STS_ENDPOINT_NOT_ALLOWED },
    // What STS is asked to do.
    { name: 'method GET', sign: { method: 'GET' }, reason: R.ACTION_NOT_ALLOWED },
    { name: 'another action (AssumeRole)', sign: setBody('Action=AssumeRole&Version=2011-06-15'), reason: R.ACTION_NOT_ALLOWED },
    { name: 'Action given twice', sign: setBody('Action=GetCallerIdentity&Action=AssumeRole&Version=2011-06-15'), reason: R.ACTION_NOT_ALLOWED },
    { name: 'a lower-case action= name', sign: setBody('action=GetCallerIdentity&Version=2011-06-15'), reason: R.ACTION_NOT_ALLOWED },
    { name: 'an extra parameter', sign: setBody('Action=GetCallerIdentity&Version=2011-06-15&RoleArn=x'), reason: R.ACTION_NOT_ALLOWED },
    { name: 'no Version', sign: setBody('Action=GetCallerIdentity'), reason: R.ACTION_NOT_ALLOWED },
    { name: 'another Version', sign: setBody('Action=GetCallerIdentity&Version=2099-01-01'), reason: R.ACTION_NOT_ALLOWED },
    { name: 'an empty pair', sign: setBody('Action=GetCallerIdentity&&Version=2011-06-15'), reason: R.ACTION_NOT_ALLOWED },
    { name: 'a percent-encoded value', sign: setBody('Action=GetCaller%49dentity&Version=2011-06-15'), reason: R.ACTION_NOT_ALLOWED },
    // Audience, time and region of the signature.
    { name: 'no audience header', sign: { audience: null }, reason: R.AUDIENCE },
    { name: 'an unsigned audience header', sign: { audience: null, afterSign: (h) => { h['X-Ecsmesh-Server-Id'] = [SERVER_ID]; } }, reason: R.AUDIENCE },
    { name: "another deployment's audience", sign: { audience: 'another-deployment' }, reason: R.AUDIENCE },
    { name: 'a signature older than maxAge', sign: { signingDate: seconds(-301) }, reason: R.EXPIRED },
    { name: 'a signature dated beyond the skew', sign: { signingDate: seconds(61) }, reason: R.FUTURE_DATED },
    { name: 'an eu-west-1 scope on the us-east-1 endpoint', sign: { region: 'eu-west-1' }, reason: R.REGION_MISMATCH },
    { name: 'an eu-west-1 scope on the global endpoint', sign: { url: 'https://sts.amazonaws.com/', region: 'eu-west-1' }, reason: R.REGION_MISMATCH },
    // The signature's form.
    { name: 'a non-SigV4 Authorization', sign: { afterSign: editAuthorization(() => 'Bearer abc') }, reason: R.SIGNATURE_MALFORMED },
    { name: 'a signature that is not hex', sign: { afterSign: editAuthorization((v) => v.replace(/Signature=.*$/, `Signature=${'z'.repeat(64)}`)) }, reason: R.SIGNATURE_MALFORMED },
    { name: 'an upper-case hex signature', sign: { afterSign: editAuthorization((v) => v.replace(/Signature=(.*)$/, (_m, s: string) => `Signature=${s.toUpperCase()}`)) }, reason: R.SIGNATURE_MALFORMED },
    { name: 'unsorted SignedHeaders', sign: { afterSign: editAuthorization((v) => v.replace(/SignedHeaders=([^,]+)/, (_m, l: string) => `SignedHeaders=${l.split(';').reverse().join(';')}`)) }, reason: R.SIGNATURE_MALFORMED },
    { name: 'an impossible scope date', sign: { afterSign: editAuthorization((v) => v.replace('/20261123/', '/20260231/')) }, reason: R.SIGNATURE_MALFORMED },
    { name: 'a scope for the iam service', sign: { service: 'iam' }, reason: R.SIGNATURE_MALFORMED },
    { name: 'no Authorization', sign: { afterSign: (h) => { delete h.Authorization; } }, reason: R.SIGNATURE_MALFORMED },
    { name: 'a signed header missing from the map', sign: { afterSign: (h) => { delete h['Content-Type']; } }, reason: R.SIGNATURE_MALFORMED },
    { name: 'a signed header we do not forward (x-forwarded-host)', sign: { extraHeaders: { 'x-forwarded-host': 'evil.com' } }, reason: R.SIGNATURE_MALFORMED },
    { name: 'an unsigned session token', sign: { sessionToken: undefined, afterSign: (h) => { h['X-Amz-Security-Token'] = ['token']; } }, reason: R.SIGNATURE_MALFORMED },
    { name: "an x-amz-date off the scope's date", sign: { afterSign: (h) => { h['X-Amz-Date'] = ['20261124T100000Z']; } }, reason: R.SIGNATURE_MALFORMED },
    { name: 'no x-amz-date', sign: { afterSign: (h) => { delete h['X-Amz-Date']; } }, reason: R.SIGNATURE_MALFORMED },
    // The envelope.
    { name: 'a header given twice in different case', sign: { afterSign: (h) => { h.HOST = ['sts.us-east-1.amazonaws.com']; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a repeated key in the header JSON', sign: { wire: (w) => { w.iam_request_headers = b64(`${Buffer.from(w.iam_request_headers as string, 'base64').toString().slice(0, -1)},"Host":["sts.us-east-1.amazonaws.com"],"Host":["x"]}`); } }, reason: R.MALFORMED_REQUEST },
    { name: 'a header value with CR LF', sign: { afterSign: (h) => { h['X-Extra'] = ['a\r\nInjected: 1']; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a header map that is a list', sign: { wire: (w) => { w.iam_request_headers = b64('[]'); } }, reason: R.MALFORMED_REQUEST },
    { name: 'another content-type', sign: { extraHeaders: { 'content-type': 'application/json' } }, reason: R.MALFORMED_REQUEST },
    { name: 'a content-length that is not the body length', sign: { extraHeaders: { 'content-length': '1000' } }, reason: R.MALFORMED_REQUEST },
    { name: 'an unknown top-level field', sign: { wire: (w) => { w.role = 'admin'; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a repeated top-level key', raw: (body) => body.replace(/}$/, ',"taskArn":"arn:aws:ecs:us-east-1:123456789012:task/other/abc"}'), reason: R.MALFORMED_REQUEST },
    { name: 'a field of the wrong type', sign: { wire: (w) => { w.iam_request_url = 42; } }, reason: R.MALFORMED_REQUEST },
    { name: 'not JSON', raw: () => 'Action=GetCallerIdentity', reason: R.MALFORMED_REQUEST },
    { name: 'base64 in the URL-safe alphabet', sign: { wire: (w) => { w.iam_request_headers = (w.iam_request_headers as string).replace(/\+/g, '-').replace(/\//g, '_').replace(/^(.)/, '-'); } }, reason: R.MALFORMED_REQUEST },
    { name: 'base64 without its padding', sign: { wire: (w) => { w.iam_request_url = b64('https://sts.amazonaws.com/').replace(/=+$/, ''); } }, reason: R.MALFORMED_REQUEST },
    { name: 'base64 with non-zero padding bits', sign: { wire: (w) => { w.iam_request_body = 'QR=='; } }, reason: R.MALFORMED_REQUEST },
    { name: 'base64 with a space (only line breaks are skipped, as Go does)', sign: { wire: (w) => { w.iam_request_body = `${(w.iam_request_body as string).slice(0, 8)} ${(w.iam_request_body as string).slice(8)}`; } }, reason: R.MALFORMED_REQUEST },
    { name: 'both server-id headers', sign: { extraHeaders: { 'x-vault-aws-iam-server-id': SERVER_ID } }, reason: R.AUDIENCE },
    { name: "Vault's server-id header with two values", sign: { audience: null, extraHeaders: { 'x-vault-aws-iam-server-id': SERVER_ID }, afterSign: (h) => { h['X-Vault-Aws-Iam-Server-Id'] = [SERVER_ID, 'other']; } }, reason: R.AUDIENCE },
    { name: "Vault's server-id header naming another deployment", sign: { audience: null, extraHeaders: { 'x-vault-aws-iam-server-id': 'other' } }, reason: R.AUDIENCE },
    { name: 'a header map object over 8 KiB', sign: { wire: (w) => { w.iam_request_headers = { 'X-Padding': ['p'.repeat(9000)] } as never; } }, reason: R.REQUEST_TOO_LARGE },
    { name: 'a header map that is an array', sign: { wire: (w) => { w.iam_request_headers = [] as never; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a body that is not UTF-8', sign: { wire: (w) => { w.iam_request_body = Buffer.from([0xc3, 0x28]).toString('base64'); } }, reason: R.MALFORMED_REQUEST },
    { name: 'a taskArn that is not an ECS task', sign: { wire: (w) => { w.taskArn = 'arn:aws:iam::123456789012:role/task'; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a taskArn with extra path segments', sign: { wire: (w) => { w.taskArn = `${TASK_ARN}/extra`; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a workloadGroup that is not DNS-1123', sign: { wire: (w) => { w.workloadGroup = 'Bookinfo/ratings'; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a workloadGroup without a namespace', sign: { wire: (w) => { w.workloadGroup = 'ratings'; } }, reason: R.MALFORMED_REQUEST },
    { name: 'an invalid label key', sign: { wire: (w) => { w.labels = { 'bad key!': 'v' }; } }, reason: R.MALFORMED_REQUEST },
    { name: 'a __proto__ label key', raw: (body) => body.replace(/}$/, ',"labels":{"__proto__":"x"}}'), reason: R.MALFORMED_REQUEST },
    { name: 'an invalid label value', sign: { wire: (w) => { w.labels = { app: '-bad-' }; } }, reason: R.MALFORMED_REQUEST },
    { name: 'more than 64 labels', sign: { wire: (w) => { w.labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])); } }, reason: R.MALFORMED_REQUEST },
    // Sizes.
    { name: 'a body over 16 KiB', raw: (body) => body.replace(/}$/, `,"pad":"${'a'.repeat(16 * 1024)}"}`), reason: R.REQUEST_TOO_LARGE },
    { name: 'a body over 16 KiB in UTF-8 bytes', raw: (body) => body.replace(/}$/, `,"pad":"${'é'.repeat(8000)}"}`), reason: R.REQUEST_TOO_LARGE },
    { name: 'an oversized header blob', sign: { afterSign: (h) => { h['X-Padding'] = ['a'.repeat(9000)]; } }, reason: R.REQUEST_TOO_LARGE },
    { name: 'more than 32 headers', sign: { afterSign: (h) => { for (let i = 0; i < 32; i++) h[`X-H${i}`] = ['v']; } }, reason: R.REQUEST_TOO_LARGE },
    { name: 'more than 8 values of one header', sign: { afterSign: (h) => { h['X-Many'] = Array.from({ length: 9 }, () => 'v'); } }, reason: R.REQUEST_TOO_LARGE },
  ];

  it('has at least 30 hostile rows', () => {
    expect(refused.length).toBeGreaterThanOrEqual(30);
  });

  it.each(refused)('refuses $name with $reason', async ({ sign, options, raw, reason }) => {
    const body = await signedExchangeBody(sign);

    const result = validate(raw ? raw(body) : body, options);

    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) expect(result.detail).not.toMatch(/[0-9a-f]{64}|session-token-for-tests|ASIAEXAMPLE/);
  });
});

describe('validateExchangeRequest on arbitrary input', () => {
  const codes = new Set<string>(Object.values(EXCHANGE_REASONS));
  const neverThrows = (raw: string) => {
    const result = validate(raw);
    return result.ok || (codes.has(result.reason) && result.detail.length <= 200);
  };
  let valid: WireRequest;
  beforeAll(async () => {
    valid = await signedExchangeWire();
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), neverThrows));
  });

  it('never throws on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => neverThrows(JSON.stringify(value) ?? 'null')));
  });

  it('never throws when the decoded parts are arbitrary', () => {
    const headerValue = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 10 }), fc.jsonValue());
    fc.assert(
      fc.property(
        fc.record({ method: fc.oneof(fc.constant('POST'), fc.string()), url: fc.oneof(fc.webUrl(), fc.string()), body: fc.oneof(fc.constant(GCI_BODY), fc.string()), headers: fc.dictionary(fc.string({ maxLength: 20 }), headerValue, { maxKeys: 40 }), extra: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue(), { maxKeys: 3 }) }),
        ({ method, url, body, headers, extra }) =>
          neverThrows(JSON.stringify({ ...extra, ...valid, iam_http_request_method: method, iam_request_url: b64(url), iam_request_body: b64(body), iam_request_headers: b64(JSON.stringify(headers)) })),
      ),
    );
  });

  it('never throws when the valid headers are edited arbitrarily', () => {
    const signedHeaders = JSON.parse(Buffer.from(valid.iam_request_headers as string, 'base64').toString()) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(signedHeaders), 'Authorization', 'Host', 'X-Amz-Date'), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 })), (name, value) =>
        neverThrows(JSON.stringify({ ...valid, iam_request_headers: b64(JSON.stringify({ ...signedHeaders, [name]: value })) })),
      ),
    );
  });
});
