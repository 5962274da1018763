// osls plugin: refuses to package (and so to deploy, which packages first) a stack whose required
// stage params are missing, or whose number params lie outside their parameter's MinValue/MaxValue,
// naming each one. Without it such a stack deploys and every function
// that needs the setting fails at cold start.
//
// The values checked are the resolved defaults of the CloudFormation parameters serverless.yml
// declares (`MeshK8sUrl: Default: ${param:meshK8sUrl}`), i.e. exactly what would be deployed.
'use strict';

const MESH_AUTHS = ['eks', 'bearer'];

/** The distinct accounts of a comma-separated list. */
const accountsOf = (list) => [...new Set((list ?? '').split(',').map((a) => a.trim()).filter(Boolean))];

/** The accounts memberRoleNames (`account=role,...`) names a reader role for. */
const namedMembersOf = (p) => new Set(accountsOf(p.memberRoleNames).map((pair) => pair.split('=')[0]));

/** Each required param: when it is required, and what it is (for the message). */
const RULES = [
  { param: 'meshK8sUrl', what: "the mesh cluster's Kubernetes API server URL (https://...)" },
  { param: 'meshK8sAuth', what: `how the functions authenticate to the mesh: ${MESH_AUTHS.join(' or ')}` },
  { param: 'meshK8sEksClusterName', when: (p) => p.meshK8sAuth === 'eks', what: 'the EKS cluster name (required with meshK8sAuth=eks)' },
  { param: 'meshK8sTokenSecretId', when: (p) => p.meshK8sAuth === 'bearer', what: 'the Secrets Manager secret holding the mesh API token (required with meshK8sAuth=bearer)' },
  { param: 'authAudience', what: "this deployment's server ID, which every agent signs (x-ecsmesh-server-id)" },
  { param: 'authAllowedAccounts', what: 'the 12-digit AWS accounts whose tasks may use the auth exchange, comma-separated' },
  {
    param: 'crossAccountRoleName',
    // Accounts memberRoleNames names are read through their own role.
    when: (p) => accountsOf(p.authAllowedAccounts).filter((a) => !namedMembersOf(p).has(a)).length > 1,
    what: "the role member accounts deploy (deploy/member-account-role.yaml): required when authAllowedAccounts names more than one account, since at most one of them is this stack's own and another's tasks and roles can only be read through it",
  },
  {
    param: 'crossAccountRoleName',
    when: (p) => accountsOf(p.memberAccounts).some((a) => !namedMembersOf(p).has(a)),
    what: "the role member accounts deploy (deploy/member-account-role.yaml): required when memberAccounts names an account memberRoleNames does not, since the reconciler lists a member's clusters through it",
  },
  { param: 'meshSubnetIds', when: (p) => p.meshSecurityGroupIds !== '', what: 'the subnets for the functions that call the mesh (given meshSecurityGroupIds)' },
  { param: 'meshSecurityGroupIds', when: (p) => p.meshSubnetIds !== '', what: 'the security groups for the functions that call the mesh (given meshSubnetIds)' },
];

/** Problems with `params` (param name -> value), one line each; empty when all is well. */
function missingParams(params) {
  const problems = RULES.filter((r) => (!r.when || r.when(params)) && !params[r.param]).map((r) => `${r.param}: ${r.what}`);
  if (params.meshK8sAuth && !MESH_AUTHS.includes(params.meshK8sAuth)) problems.push(`meshK8sAuth: must be ${MESH_AUTHS.join(' or ')}, not "${params.meshK8sAuth}"`);
  if (params.meshEksAccessEntries === 'true' && params.meshK8sAuth !== 'eks') problems.push('meshEksAccessEntries: access entries are for meshK8sAuth=eks');
  return problems;
}

/** The param a template parameter holds: `MeshK8sUrl` holds `meshK8sUrl`. */
const paramName = (name) => name[0].toLowerCase() + name.slice(1);

/**
 * Number params whose value lies outside its CloudFormation parameter's MinValue/MaxValue, one line
 * each with the parameter's ConstraintDescription (the why). CloudFormation would refuse them too,
 * but only once the deploy reaches it; osls alone does not check them.
 */
function outOfRangeParams(parameters) {
  return Object.entries(parameters ?? {}).flatMap(([name, p]) => {
    if (p.Type !== 'Number' || p.Default === undefined || (p.MinValue === undefined && p.MaxValue === undefined)) return [];
    const text = String(p.Default).trim();
    const value = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
    if (!Number.isNaN(value) && !(p.MinValue !== undefined && value < p.MinValue) && !(p.MaxValue !== undefined && value > p.MaxValue)) return [];
    return [`${paramName(name)}: ${JSON.stringify(text)} is out of range: ${p.ConstraintDescription ?? `${p.MinValue ?? '-∞'} to ${p.MaxValue ?? '∞'}`}`];
  });
}

/** Param values from the template's parameters: `MeshK8sUrl` holds param `meshK8sUrl`. */
function paramsOf(parameters) {
  return Object.fromEntries(Object.entries(parameters ?? {}).map(([name, p]) => [paramName(name), String(p.Default ?? '')]));
}

class RequiredParams {
  constructor(serverless) {
    this.hooks = {
      'before:package:initialize': () => {
        const parameters = serverless.service.resources?.Parameters;
        const missing = missingParams(paramsOf(parameters));
        const outOfRange = outOfRangeParams(parameters);
        if (missing.length === 0 && outOfRange.length === 0) return;
        const stage = serverless.service.provider.stage;
        const sections = [
          ...(missing.length > 0 ? [`missing required stage params for stage "${stage}":\n  ${missing.join('\n  ')}\n`] : []),
          ...(outOfRange.length > 0 ? [`stage params out of range for stage "${stage}":\n  ${outOfRange.join('\n  ')}\n`] : []),
        ];
        throw new serverless.classes.Error(
          sections.join('') +
            'Set each with --param="<name>=<value>" (npm run package / npm run deploy also take --params <file>, see params.example.yml) ' +
            `or under params.${stage} in serverless.yml.`,
        );
      },
    };
  }
}

module.exports = RequiredParams;
module.exports.missingParams = missingParams;
module.exports.outOfRangeParams = outOfRangeParams;
