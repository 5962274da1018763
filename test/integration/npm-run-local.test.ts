import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ListHostedZonesCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/moto.js';
import { LOCAL_OPERATOR } from '../../local/iam-authorizer.js';
import type { LocalContext } from '../../local/context.js';
import { signedFetch } from '../../cli/api/signed-fetch.js';
import { aTaskStateChange } from '../fixtures/ecs-events.js';
import { startLocalProcess, until } from '../support/local-process.js';
import { runRatingsTask, writeRatingsGroup } from '../support/local-task.js';
import { settingsInAccount } from '../../local/member-event-forwarding.js';
import { aPolicy } from '../fixtures/builders.js';

describe('npm run local', () => {
  it('serves the routes on PORT, writes its context while it runs, and stops everything on Ctrl-C without a stack trace', async () => {
    const port = await freePort();
    const contextFile = join(tmpdir(), `ecs-mesh-npm-run-local-${port}.json`);
    // Its own process group, as a terminal runs it: Ctrl-C reaches every process of the group at once, moto included.
    const child = spawn(process.execPath, ['scripts/run.mjs', 'local'], { env: { ...process.env, PORT: String(port), AWS_ENDPOINT_URL: '', ECS_MESH_LOCAL_CONTEXT: contextFile }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 45_000;
    while (!output.includes('Ctrl-C stops everything') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const res = await signedFetch(`http://127.0.0.1:${port}/v1/enrollments`, { method: 'GET' }, { region: 'us-east-1', credentials: LOCAL_OPERATOR });
    const body = (await res.json()) as { items: unknown[] };
    const context = JSON.parse(readFileSync(contextFile, 'utf8')) as Record<string, unknown>;
    // Let the consumer's long poll and the event source be mid-request when moto goes.
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;

    expect(output).toContain(`http://127.0.0.1:${port}`);
    expect(output).toMatch(/local AWS:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(res.status).toBe(200);
    expect(body.items).toEqual([]);
    expect(context).toMatchObject({ version: 1, apiUrl: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { mode: 'moto', accessKeyId: 'testing', secretAccessKey: 'testing' } });
    expect(code).toBe(0);
    expect(output).toContain('[local] SIGINT: stopping');
    expect(output, output).not.toMatch(/^\s+at /m);
    expect(existsSync(contextFile)).toBe(false);
    const moto = /local AWS:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    await expect(fetch(`${moto}/moto-api/data.json`)).rejects.toThrow();
  }, 60_000);

  it('reports ECS task versions as the event source numbers them, so an event claiming a version ahead of ECS is bounded as on AWS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npm-run-local-versions-'));
    const local = await startLocalProcess({ MESH_FILE_DIR: join(dir, 'mesh'), RECONCILE_INTERVAL_SECONDS: '3600', LOCAL_POLICY_STREAM: 'off' });
    try {
      const record = async (taskId: string) => {
        const res = await signedFetch(`${local.issuer}/v1/enrollments/${taskId}`, { method: 'GET' }, { region: 'us-east-1', credentials: LOCAL_OPERATOR });
        return res.status === 200 ? ((await res.json()) as { version: number }) : undefined;
      };
      const { taskArn, taskId } = await runRatingsTask(local.aws);
      // The event source reports PROVISIONING, PENDING and RUNNING: versions 1, 2 and 3.
      await until('the RUNNING event to be recorded', async () => ((await record(taskId))?.version === 3 ? true : undefined), 60, local.output);

      // A RUNNING event claiming version 50, which ECS never reached (DescribeTasks says 3).
      const { resources } = JSON.parse(readFileSync(local.contextFile, 'utf8')) as LocalContext;
      const ahead = aTaskStateChange({ taskArn, clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/demo', version: 50 });
      await new SQSClient(local.aws).send(new SendMessageCommand({ QueueUrl: resources.queueUrl, MessageBody: JSON.stringify(ahead) }));
      const handled = () => local.output().includes('event version is ahead of ECS');
      await until('task-events to handle the event', async () => (handled() || (await record(taskId))?.version === 50 ? true : undefined), 30, local.output);

      expect(handled(), local.output()).toBe(true);
      expect(local.output()).toMatch(new RegExp(`"taskId":"${taskId}","eventVersion":50,"ecsVersion":3`));
      expect((await record(taskId))?.version).toBe(3);
    } finally {
      await local.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('LOCAL_MESH=istiod: the functions write to the Kubernetes API double, and the local routes show the entry, what istiod would serve for it, and the mesh names of the group\'s upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npm-run-local-istiod-'));
    for (const [sub, file] of [['workloadgroups', 'workloadgroup.yaml'], ['services', 'service.yaml']] as const) {
      mkdirSync(join(dir, 'mesh', sub), { recursive: true });
      copyFileSync(join('examples', 'ecs-service', 'istio', file), join(dir, 'mesh', sub, file));
    }
    // The upstream the example's group declares (bookinfo's mongodb), for the names function.
    writeFileSync(join(dir, 'mesh', 'services', 'mongodb.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: mongodb, namespace: bookinfo }\nspec: { ports: [{ name: mongo, port: 27017 }] }\n');
    const local = await startLocalProcess({ MESH_FILE_DIR: join(dir, 'mesh'), LOCAL_MESH: 'istiod', RECONCILE_INTERVAL_SECONDS: '3600', LOCAL_POLICY_STREAM: 'off', NAMES_INTERVAL_SECONDS: '1' });
    try {
      const policy = { apiVersion: 'ecsmesh.io/v1alpha1', kind: 'OnboardingPolicy', metadata: { name: 'allow-ratings', namespace: 'bookinfo' }, spec: { allow: [{ workloads: [{ aws: { accounts: ['123456789012'], ecs: { iamRoleTags: { team: ['ratings'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] } };
      const { resources } = JSON.parse(readFileSync(local.contextFile, 'utf8')) as LocalContext;
      await new DynamoDBClient(local.aws).send(new PutItemCommand({ TableName: resources.policyTable, Item: { namespace: { S: 'bookinfo' }, name: { S: 'allow-ratings' }, revision: { N: '1' }, document: { S: JSON.stringify(policy) } } }));
      const { taskId } = await runRatingsTask(local.aws);
      const entries = async () => ((await (await fetch(`${local.issuer}/local/mesh/workloadentries`)).json()) as { items: { metadata: { name: string; annotations: Record<string, string> } }[] }).items;
      const [entry] = await until('task-events to write the entry into the double', async () => ((await entries()).length > 0 ? entries() : undefined), 60, local.output);

      expect(local.output()).toMatch(/mesh:\s+Kubernetes API double http:\/\/127\.0\.0\.1:\d+ .* 1 WorkloadGroup/);
      expect(entry?.metadata).toMatchObject({ name: `ratings-${taskId}`, annotations: { 'proxy.istio.io/health-checks-enabled': 'true' } });
      // The example's group has a probe and no proxy reports here: istiod would not send it traffic.
      expect(((await (await fetch(`${local.issuer}/local/mesh/endpoints`)).json()) as { items: unknown[] }).items).toContainEqual({ service: 'bookinfo/ratings', endpoints: [] });

      // Mesh names: the group's upstream got an A record in moto's private zone and a Sidecar listener on the same address.
      type Sidecar = { metadata: { name: string }; spec: { egress?: { bind: string; port: { number: number }; hosts: string[] }[] } };
      const sidecars = async () => ((await (await fetch(`${local.issuer}/local/mesh/sidecars`)).json()) as { items: Sidecar[] }).items;
      const [sidecar] = await until('the names function to write the Sidecar', async () => ((await sidecars()).length > 0 ? sidecars() : undefined), 30, local.output);
      const route53 = new Route53Client(local.aws);
      const [zone] = (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
      const records = (await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone!.Id! }))).ResourceRecordSets ?? [];
      const record = records.find((r) => r.Name === 'mongodb.bookinfo.svc.cluster.local.');
      expect(local.output()).toMatch(/mesh names:\s+private hosted zone svc\.cluster\.local/);
      expect(sidecar?.metadata.name).toBe('ratings-ecs');
      expect(sidecar?.spec.egress).toEqual([{ port: expect.objectContaining({ number: 27017 }), bind: record?.ResourceRecords?.[0]?.Value, captureMode: 'NONE', hosts: ['bookinfo/mongodb.bookinfo.svc.cluster.local'] }]);
    } finally {
      await local.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("LOCAL_MEMBER_ACCOUNTS: runs as a hub, and enrolls a member account's task from its forwarded events", async () => {
    const member = '444455556666';
    const dir = mkdtempSync(join(tmpdir(), 'npm-run-local-members-'));
    writeRatingsGroup(join(dir, 'mesh'));
    const local = await startLocalProcess({ MESH_FILE_DIR: join(dir, 'mesh'), RECONCILE_INTERVAL_SECONDS: '3600', LOCAL_POLICY_STREAM: 'off', LOCAL_MEMBER_ACCOUNTS: member });
    try {
      const api = (path: string, init: { method: string; headers?: Record<string, string>; body?: string } = { method: 'GET' }) => signedFetch(`${local.issuer}${path}`, init, { region: 'us-east-1', credentials: LOCAL_OPERATOR });
      const policy = aPolicy({ allow: [{ workloads: [{ aws: { accounts: [member], ecs: { clusters: ['demo'], iamRoleTags: { team: ['ratings'] } } } }], onboardTo: [{ workloadGroupSelector: { matchLabels: { app: 'ratings' } } }] }] });
      expect((await api('/v1/namespaces/bookinfo/policies/allow-ratings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(policy) })).status).toBe(201);

      const { taskArn, taskId } = await runRatingsTask(await settingsInAccount(local.aws, member));
      const record = await until('the member task to be enrolled', async () => {
        const res = await api(`/v1/enrollments/${taskId}`);
        const body = res.status === 200 ? ((await res.json()) as { phase: string; clusterArn: string }) : undefined;
        return body?.phase === 'enrolled' ? body : undefined;
      }, 60, local.output);

      expect(taskArn).toContain(`:${member}:task/`);
      expect(record.clusterArn).toBe(`arn:aws:ecs:us-east-1:${member}:cluster/demo`);
      expect(local.output()).toMatch(new RegExp(`members:\\s+1 account\\(s\\), ${member}`));
    } finally {
      await local.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses an unknown LOCAL_MESH with its reason', async () => {
    const local = spawn(process.execPath, ['scripts/run.mjs', 'local'], { env: { ...process.env, PORT: String(await freePort()), LOCAL_MESH: 'consul' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    local.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => local.once('exit', resolve));

    expect(code).toBe(2);
    expect(output).toContain('[local] LOCAL_MESH must be file or istiod, not consul');
  }, 60_000);
});
