import { describe, expect, it } from 'vitest';
import { parseJsonStrict } from '../../shared/core/strict-json.js';
import { parseAmzDate, parseSigV4Authorization } from '../../shared/core/sigv4-header.js';
import { partitionOfRegion, resolveStsEndpoint } from '../../shared/core/sts-endpoint.js';

describe('resolveStsEndpoint', () => {
  it.each([
    ['https://sts.amazonaws.com/', 'aws', 'us-east-1'],
    ['https://sts.eu-west-1.amazonaws.com/', 'aws', 'eu-west-1'],
    ['https://sts.ap-southeast-5.amazonaws.com/', 'aws', 'ap-southeast-5'],
    ['https://sts.il-central-1.amazonaws.com/', 'aws', 'il-central-1'],
    ['https://sts-fips.us-east-2.amazonaws.com/', 'aws', 'us-east-2'],
    ['https://sts.sa-east-1.api.aws/', 'aws', 'sa-east-1'],
    ['https://sts.cn-north-1.amazonaws.com.cn/', 'aws-cn', 'cn-north-1'],
    ['https://sts.us-gov-west-1.amazonaws.com/', 'aws-us-gov', 'us-gov-west-1'],
    ['https://sts-fips.us-gov-west-1.amazonaws.com/', 'aws-us-gov', 'us-gov-west-1'],
  ])('allows %s', (url, partition, region) => {
    expect(resolveStsEndpoint(url)).toEqual({ ok: true, url, host: new URL(url).host, partition, region });
  });

  it.each([
    'https://sts.evil.com/',
    'https://sts.amazonaws.com.evil.com/',
    'https://evil.com/sts.amazonaws.com',
    'https://52.94.0.1/',
    'https://0x345e0001/',
    'https://[::1]/',
    'https://localhost/',
    'https://sts.amazonaws.com@evil.com/',
    'https://evil.com\\@sts.amazonaws.com/',
    'https://sts.amazonaws.com:443/',
    'https://sts.amazonaws.com:/',
    'https://sts.amazonaws.com:8443/',
    'http://sts.amazonaws.com/',
    'https://sts.amazonaws.com./',
    'https://STS.AMAZONAWS.COM/',
    'https://sts.amazonaws.com/?',
    'https://sts.amazonaws.com/?Action=AssumeRole',
    'https://sts.amazonaws.com/#',
    'https://sts.amazonaws.com/x',
    'https://sts.amazonaws.com//',
    'https://sts.amazonaws.com',
    'https:\\\\sts.amazonaws.com\\',
    ' https://sts.amazonaws.com/',
    'https://sts.amazonaws.com/\t',
    'https://st%73.amazonaws.com/',
    'https://sts.amazon\u0430ws.com/',
    'https://sts.us-east-1.amazonaws.com.cn/',
    'https://sts.cn-north-1.amazonaws.com/',
    'https://sts.us-gov-west-1.api.aws/',
    'https://sts.us-gov-west-2.amazonaws.com/',
    'https://sts.us-east-10.amazonaws.com/',
    'https://sts.evil.us-east-1.amazonaws.com/',
    'https://sts.us-east-1.evil.amazonaws.com/',
    'https://sts-fips.amazonaws.com/',
    'https://iam.amazonaws.com/',
    'https://s3.us-east-1.amazonaws.com/',
    'ftp://sts.amazonaws.com/',
    'sts.amazonaws.com',
    '',
  ])('refuses %j', (url) => {
    expect(resolveStsEndpoint(url)).toMatchObject({ ok: false, reason: 'STS_ENDPOINT_NOT_ALLOWED' });
  });

  it('accepts exactly the local endpoint origin when one is configured', () => {
    expect(resolveStsEndpoint('http://localhost:5000/', 'http://localhost:5000')).toEqual({ ok: true, url: 'http://localhost:5000/', host: 'localhost:5000', partition: 'local', region: undefined });
    expect(resolveStsEndpoint('http://localhost:5000/?Action=x', 'http://localhost:5000')).toMatchObject({ ok: false, reason: 'STS_ENDPOINT_NOT_ALLOWED' });
    expect(resolveStsEndpoint('http://localhost:5001/', 'http://localhost:5000')).toMatchObject({ ok: false, reason: 'STS_ENDPOINT_NOT_ALLOWED' });
    expect(resolveStsEndpoint('https://sts.amazonaws.com/', 'http://localhost:5000')).toMatchObject({ ok: true, partition: 'aws' });
  });
});

describe('partitionOfRegion', () => {
  it.each([
    ['us-east-1', 'aws'],
    ['eu-central-2', 'aws'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-gov-east-1', 'aws-us-gov'],
  ])('puts %s in %s', (region, partition) => expect(partitionOfRegion(region)).toBe(partition));
});

describe('parseSigV4Authorization', () => {
  const good = `AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261123/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`;

  it('reads the credential scope, signed headers and signature', () => {
    expect(parseSigV4Authorization(good)).toEqual({
      ok: true,
      value: { accessKeyId: 'AKIAEXAMPLE', date: '20261123', region: 'us-east-1', service: 'sts', signedHeaders: ['host', 'x-amz-date'], signature: 'a'.repeat(64), credential: 'AKIAEXAMPLE/20261123/us-east-1/sts/aws4_request' },
    });
  });

  it.each([
    ['another algorithm', good.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256')],
    ['no space after a comma', good.replace(', SignedHeaders', ',SignedHeaders')],
    ['a trailing comma', `${good},`],
    ['an extra scope part', good.replace('/sts/', '/sts/x/')],
    ['another terminator', good.replace('aws4_request', 'aws4_reqest')],
    ['a repeated signed header', good.replace('host;x-amz-date', 'host;host;x-amz-date')],
    ['an upper-case signed header', good.replace('host;', 'Host;')],
    ['an empty signed header', good.replace('host;', ';')],
    ['a short signature', good.replace(/a{64}$/, 'a'.repeat(63))],
    ['a month 13', good.replace('20261123', '20261323')],
  ])('refuses %s', (_name, value) => {
    expect(parseSigV4Authorization(value).ok).toBe(false);
  });

  it('reads x-amz-date strictly', () => {
    expect(parseAmzDate('20261123T100000Z')).toEqual({ ok: true, value: new Date('2026-11-23T10:00:00Z') });
    for (const bad of ['20261123T240000Z', '20260229T000000Z', '2026-11-23T10:00:00Z', '20261123T100000', '00991123T100000Z']) expect(parseAmzDate(bad).ok).toBe(false);
  });
});

describe('parseJsonStrict', () => {
  it.each([
    ['{"a":1,"a":2}', false],
    ['{"a":{"b":1,"b":2}}', false],
    ['[{"a":1},{"a":2}]', true],
    ['{"a":"a","b":"a"}', true],
    ['{"a":{"x":1},"b":{"x":1}}', true],
    ['{"\\u0061":1,"a":2}', false],
    ['{"a\\"":1,"a":2}', true],
    ['{"k":["a","a"],"v":"k"}', true],
    ['{', false],
  ])('%s → ok %s', (text, ok) => {
    expect(parseJsonStrict(text).ok).toBe(ok);
  });
});
