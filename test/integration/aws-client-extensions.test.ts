/**
 * extendAwsClients, the seam through which the local stack stands in for what moto lacks (ECS task
 * versions), reaches every ECS client a handler describes tasks with, a member account's too (hub
 * and spoke). Without it a member's tasks had no version, so nothing fenced stale events off them:
 * in the three-account chaos run, a redriven DLQ re-enrolled member tasks whose role had lost its tag.
 */
import { describe, expect, it } from 'vitest';
import { reportTaskVersions } from '../../local/ecs-task-versions.js';
import { buildTaskReaders, createAwsClients, EVERY_AWS_CLIENT, extendAwsClients } from '../../shared/adapters/wiring.js';
import { loadConfig } from '../../shared/config.js';
import { localAwsConfig } from '../support/local-aws.js';
import { MemberAccount } from '../support/member-account.js';

const MEMBER = '313131313131';

describe('extensions of the AWS clients', () => {
  it("reach the ECS client a member account's tasks are described with, through its reader role", async () => {
    const member = await MemberAccount.open(MEMBER);
    await member.createRole('ecs-mesh-reader');
    const clusterArn = await member.createCluster('payments');
    const taskArn = await member.runTask('payments', await member.registerTaskDefinition('payments', await member.createRole('payments-task')));
    extendAwsClients('ecs', (ecs) => reportTaskVersions(ecs, (arn) => (arn === taskArn ? 7 : undefined)));
    const config = loadConfig('auth', { AWS_ENDPOINT_URL: localAwsConfig().endpoint, CROSS_ACCOUNT_ROLE_NAME: 'ecs-mesh-reader' });

    const described = await buildTaskReaders(config, createAwsClients(config, EVERY_AWS_CLIENT)).tasks.describeTasks(clusterArn, [taskArn]);

    expect([...described.values()].map((task) => ({ taskArn: task.taskArn, version: task.version }))).toEqual([{ taskArn, version: 7 }]);
  });
});
