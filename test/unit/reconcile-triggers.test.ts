import { describe, expect, it } from 'vitest';
import { passesFor } from '../../functions/reconcile/triggers.js';

const trail = (eventName: string, roleName: unknown = 'ratings-task') => ({ source: 'aws.iam', 'detail-type': 'AWS API Call via CloudTrail', detail: { eventSource: 'iam.amazonaws.com', eventName, requestParameters: { roleName } } });

describe('passesFor', () => {
  it('runs a full pass from the cursor for the schedule', () => {
    expect(passesFor({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).toEqual([{ useCursor: true }]);
  });

  it('runs one pass per namespace a policy stream batch touched', () => {
    const record = (namespace: string) => ({ eventSource: 'aws:dynamodb', dynamodb: { Keys: { namespace: { S: namespace }, name: { S: 'p' } } } });
    expect(passesFor({ Records: [record('bookinfo'), record('shop'), record('bookinfo')] })).toEqual([
      { namespace: 'bookinfo', useCursor: false },
      { namespace: 'shop', useCursor: false },
    ]);
  });

  it.each(['TagRole', 'UntagRole', 'DeleteRole', 'UpdateAssumeRolePolicy'])('runs a pass for the role %s changed', (eventName) => {
    expect(passesFor(trail(eventName))).toEqual([{ roleName: 'ratings-task', useCursor: false }]);
  });

  it('ignores IAM calls that change nothing a task role allows, and malformed ones', () => {
    expect(passesFor(trail('ListRoles'))).toEqual([]);
    expect(passesFor(trail('TagRole', { nested: 'x' }))).toEqual([]);
    expect(passesFor({ Records: [{ eventSource: 'aws:sqs' }] })).toEqual([]);
  });
});
