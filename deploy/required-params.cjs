// osls plugin: refuses to package (and so to deploy, which packages first) a stack whose required
// stage params are missing, or whose number params lie outside their parameter's MinValue/MaxValue,
// naming each one. Without it such a stack deploys and every function
// that needs the setting fails at cold start.
//
// The values checked are the resolved defaults of the CloudFormation parameters serverless.yml
// declares (resources/parameters.yml: `MeshK8sUrl: Default: ${param:meshK8sUrl}`), i.e. exactly what would be deployed.
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
  problems.push(...peerTimingProblems(params));
  problems.push(...meshNetworksProblems(params.meshNetworks));
  return problems;
}

// = DISCOVERY_KEY_CACHE_SECONDS and JWKS_MAX_AGE_SECONDS (shared/core/token-lifetime.ts; a unit test checks).
const DISCOVERY_KEY_CACHE_SECONDS = 30;
const JWKS_MAX_AGE_SECONDS = 300;

/**
 * The issuer deployment of several (peerJwksUrls): a peer's pending key must be in what istiod
 * holds before it signs, and a silent peer's keys must outlive the tokens it signed.
 * (minKeyPrepublishWithPeers in shared/core/token-lifetime.ts.)
 */
function peerTimingProblems(params) {
  if (!params.peerJwksUrls) return [];
  const refresh = Number(params.peerJwksRefreshSeconds);
  const needed = DISCOVERY_KEY_CACHE_SECONDS + refresh + JWKS_MAX_AGE_SECONDS;
  const problems = [];
  if (Number(params.keyPrepublishSeconds) < needed)
    problems.push(
      `keyPrepublishSeconds: ${params.keyPrepublishSeconds} is under ${needed} s = a peer's discovery cache (${DISCOVERY_KEY_CACHE_SECONDS}) + peerJwksRefreshSeconds (${refresh}) + the JWKS max-age istiod honours (${JWKS_MAX_AGE_SECONDS}): a peer's new key could sign before istiod has it. Raise it (on every deployment of the mesh) or lower peerJwksRefreshSeconds`,
    );
  const longest = Math.max(Number(params.dataPlaneTokenLifetimeSeconds), Number(params.onboardingTokenLifetimeSeconds));
  if (Number(params.peerJwksKeepSeconds) < longest + refresh)
    problems.push(`peerJwksKeepSeconds: ${params.peerJwksKeepSeconds} is under the longest token lifetime (${longest}) + peerJwksRefreshSeconds (${refresh}): a peer that goes silent would lose its keys while its tokens still live`);
  return problems;
}

/** A meshNetworks pair: a VPC id or an account, `=`, a network that is a Kubernetes label value. */
const MESH_NETWORK_PAIR = /^(vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?|\d{12})=([A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

/** What is wrong with meshNetworks, pair by pair: the rules shared/core/networks.ts applies at cold start. */
function meshNetworksProblems(text) {
  const named = new Set();
  return (text ?? '').split(',').map((p) => p.trim()).filter(Boolean).flatMap((pair) => {
    const key = MESH_NETWORK_PAIR.exec(pair)?.[1];
    if (key === undefined) return [`meshNetworks: "${pair}" is not <vpc-id or 12-digit account>=<network>, the network a Kubernetes label value (at most 63 alphanumerics, -, _ or ., starting and ending alphanumeric)`];
    if (named.has(key)) return [`meshNetworks: ${key} is named twice`];
    named.add(key);
    return [];
  });
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
module.exports.PEER_TIMING = { DISCOVERY_KEY_CACHE_SECONDS, JWKS_MAX_AGE_SECONDS };
