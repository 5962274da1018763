/**
 * serverless.yml's layout: the service, its functions and their settings in the one file; the
 * CloudFormation it adds pulled from resources/<area>.yml. What the stack finally holds is checked
 * on the packaged template (test/integration/serverless-package.test.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CFN_TAGS } from '../support/cloudformation-yaml.js';
import { readServerlessConfig } from '../support/serverless-config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('serverless.yml layout', () => {
  const own = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { customTags: CFN_TAGS, merge: true }) as Record<string, unknown>;

  it('keeps the service, its functions and their settings, and pulls every resource file by area', () => {
    expect(Object.keys(own).filter((key) => !['service', 'frameworkVersion', 'plugins', 'params', 'provider', 'package', 'custom', 'functions', 'resources'].includes(key))).toEqual([]);
    const includes = own.resources as string[];
    expect(Array.isArray(includes), 'resources is a list of ${file(...)} includes').toBe(true);
    const files = readdirSync(join(root, 'resources')).filter((f) => f.endsWith('.yml'));
    expect(includes.toSorted()).toEqual(files.map((f) => `\${file(resources/${f})}`).sort());
  });

  it('defines each parameter, condition, resource and output in one file, and every function role among them', () => {
    const { functions, resources } = readServerlessConfig();

    expect(Object.keys(resources).sort()).toEqual(['Conditions', 'Outputs', 'Parameters', 'Resources', 'extensions']);
    for (const [name, fn] of Object.entries(functions)) expect(resources.Resources[fn.role as string]?.Type, name).toBe('AWS::IAM::Role');
  });

  it('refuses an id two resource files define, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'serverless-layout-'));
    try {
      mkdirSync(join(dir, 'resources'));
      writeFileSync(join(dir, 'serverless.yml'), 'service: s\nresources:\n  - ${file(resources/a.yml)}\n  - ${file(resources/b.yml)}\n');
      writeFileSync(join(dir, 'resources', 'a.yml'), 'Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n');
      writeFileSync(join(dir, 'resources', 'b.yml'), 'Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties: { DelaySeconds: 1 }\n');

      expect(() => readServerlessConfig(dir)).toThrow('Resources.Queue is defined twice (again in resources/b.yml)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
