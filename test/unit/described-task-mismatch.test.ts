import { describe, expect, it } from 'vitest';
import { describedTaskMismatch } from '../../shared/core/task.js';

const real = { taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/abc123', clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/prod' };

describe('describedTaskMismatch', () => {
  it('accepts the described task itself', () => {
    expect(describedTaskMismatch(real.taskArn, 'prod', real)).toBeUndefined();
  });

  it('accepts the short ARN form of a task in the default cluster', () => {
    const inDefault = { taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/default/abc123', clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/default' };
    expect(describedTaskMismatch('arn:aws:ecs:us-east-1:123456789012:task/abc123', 'default', inDefault)).toBeUndefined();
  });

  it.each([
    ['arn:aws:ecs:eu-west-1:123456789012:task/prod/abc123', 'prod', /region eu-west-1 is not us-east-1/],
    ['arn:aws-cn:ecs:us-east-1:123456789012:task/prod/abc123', 'prod', /partition aws-cn is not aws/],
    ['arn:aws:ecs:us-east-1:210987654321:task/prod/abc123', 'prod', /accountId/],
    ['arn:aws:ecs:us-east-1:123456789012:task/prod/abc124', 'prod', /task id differs/],
    ['arn:aws:ecs:us-east-1:123456789012:task/staging/abc123', 'staging', /cluster staging is not prod/],
  ])('names what differs in %s', (claimed, cluster, why) => {
    expect(describedTaskMismatch(claimed, cluster, real)).toMatch(why);
  });

  it('refuses a described task whose cluster is in another region', () => {
    expect(describedTaskMismatch(real.taskArn, 'prod', { ...real, clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod' })).toMatch(/elsewhere/);
  });
});
