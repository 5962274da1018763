import { describe, expect, it } from 'vitest';
import { canonicalTemplate } from '../support/canonical-template.js';

/** A template as `osls package` renders it, at `time` with code of hash `hash`. */
const packaged = (time: string, hash: string) => ({
  Resources: {
    AuthLambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Key: `serverless/ecs-mesh-onboarding/ci/${Date.parse(time)}-${time}/auth.zip` }, Timeout: 10 } },
    [`AuthLambdaVersion${hash}`]: { Type: 'AWS::Lambda::Version', Properties: { CodeSha256: `${hash}=`, FunctionName: { Ref: 'AuthLambdaFunction' } } },
    AuthLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } },
  },
  Outputs: { AuthLambdaFunctionQualifiedArn: { Value: { Ref: `AuthLambdaVersion${hash}` } } },
});

describe('canonicalTemplate', () => {
  it('is the same for two packagings of the same stack, whatever their time and code', () => {
    const first = canonicalTemplate(packaged('2026-12-05T09:30:35.169Z', 'U29TtO3Rwz2haKv42eL9a9InH89zDZ7Kpnxcyq84Do'));

    expect(canonicalTemplate(packaged('2027-01-01T00:00:00.001Z', 'zz9TtO3Rwz2haKv42eL9a9InH89zDZ7Kpnxcyq84Aa'))).toBe(first);
    expect(first).toContain('"AuthLambdaVersion<code hash>"');
    expect(first).toContain('serverless/ecs-mesh-onboarding/ci/<artifact folder>/auth.zip');
  });

  it('differs when what is deployed differs', () => {
    const template = packaged('2026-12-05T09:30:35.169Z', 'U29TtO3Rwz2haKv42eL9a9InH89zDZ7Kpnxcyq84Do');
    const changed = structuredClone(template);
    changed.Resources.AuthLambdaFunction.Properties.Timeout = 30;

    expect(canonicalTemplate(changed)).not.toBe(canonicalTemplate(template));
  });
});
