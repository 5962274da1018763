/**
 * The VPC of a task's subnet (docs/architecture.md#networks): one EC2 DescribeSubnets, signed here
 * with SigV4 and sent on node:http(s), in the subnet's own account. Not the SDK's EC2 client: it
 * would add some 250 KB to each zip of the four functions that decide, whose limit is 500 KB. A
 * subnet never changes VPC, so an answer is kept for the container's life (bounded in count), and
 * the call is made only when meshNetworks maps a VPC.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ControlPlaneError, UpstreamThrottledError } from '../errors.js';
import type { SubnetDirectory } from '../ports.js';
import { ExpiringCache } from './expiring-cache.js';
import { createHttpRequester, type HttpAnswer, type HttpRequestOptions } from './http-request.js';

/** A subnet's VPC is fixed at its creation: the bound is only on memory. */
const SUBNET_TTL_MS = 24 * 3600 * 1000;
const EC2_API_VERSION = '2016-11-15';

export interface Ec2SubnetOptions {
  region: string;
  /** A local endpoint (moto); else EC2's regional endpoint in the account's partition. */
  endpoint?: string;
  timeoutMs: number;
  /** Credentials in the subnet's account: ours, or the member role's there. */
  credentialsFor: (accountId: string, partition: string) => Promise<AwsCredentialIdentityProvider>;
}

export class Ec2SubnetDirectory implements SubnetDirectory {
  private readonly vpcs = new ExpiringCache<string | undefined>(SUBNET_TTL_MS);
  private readonly http: (url: string, request: HttpRequestOptions) => Promise<HttpAnswer>;

  constructor(private readonly options: Ec2SubnetOptions) {
    this.http = createHttpRequester({ timeoutMs: options.timeoutMs });
  }

  vpcOf(subnetId: string, accountId: string, partition: string): Promise<string | undefined> {
    return this.vpcs.getOrLoad(`${accountId}/${subnetId}`, () => this.describe(subnetId, accountId, partition));
  }

  private async describe(subnetId: string, accountId: string, partition: string): Promise<string | undefined> {
    const endpoint = new URL(this.options.endpoint ?? `https://ec2.${this.options.region}.${partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
    const body = new URLSearchParams({ Action: 'DescribeSubnets', Version: EC2_API_VERSION, 'SubnetId.1': subnetId }).toString();
    const signer = new SignatureV4({ service: 'ec2', region: this.options.region, credentials: await this.options.credentialsFor(accountId, partition), sha256: Sha256 });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
        path: '/',
        headers: { host: endpoint.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      }),
    );
    let answer: HttpAnswer;
    try {
      answer = await this.http(`${endpoint.origin}/`, { method: 'POST', headers: signed.headers, body });
    } catch (error) {
      throw new ControlPlaneError('EC2_UNAVAILABLE', `ec2:DescribeSubnets did not answer for ${subnetId}`, { cause: error, retryable: true });
    }
    const code = /<Code>([A-Za-z0-9.]{1,64})<\/Code>/.exec(answer.text)?.[1];
    if (code === 'InvalidSubnetID.NotFound') return undefined;
    if (code === 'RequestLimitExceeded' || answer.status === 503) throw new UpstreamThrottledError('EC2 throttled DescribeSubnets');
    if (answer.status !== 200) throw new ControlPlaneError('EC2_ERROR', `ec2:DescribeSubnets of ${subnetId} in ${accountId} failed (${code ?? `HTTP ${answer.status}`})`, { retryable: answer.status >= 500 });
    return /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(answer.text)?.[1];
  }
}
