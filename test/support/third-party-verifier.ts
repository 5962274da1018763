/**
 * PyJWT (pinned in requirements-dev.txt, in the project's .venv) verifying our tokens by istiod's
 * or Kuma's rules: verifiers that share no code with the signer, in test/support/verifiers/
 * (istiod_jwt_rule.py, kuma_dp_token.py).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const PYTHON = join(root, '.venv', 'bin', 'python');
const VERIFIERS = join(root, 'test', 'support', 'verifiers');
const execFileAsync = promisify(execFile);

/** istiod's answer: the SPIFFE identity it would issue a certificate for, or the stage that refused and why. */
export interface IstiodVerdict {
  ok: boolean;
  identity?: string;
  stage?: 'unmarshal' | 'discovery' | 'verify' | 'claims';
  error?: string;
}

/** istiod's verdict on a token under a JWT_RULE (the string istiod's env holds), from istiod_jwt_rule.py. */
export function istiodVerdict(jwtRule: string, token: string): IstiodVerdict {
  return JSON.parse(execFileSync(PYTHON, [join(VERIFIERS, 'istiod_jwt_rule.py'), jwtRule, token], { encoding: 'utf8' })) as IstiodVerdict;
}

/** istiod's first stage alone (initOIDC at start): the JWT_RULE string unmarshalled into its one JWTRule, or why istiod exits. */
export function istiodJwtRuleUnmarshal(jwtRule: string): { ok: boolean; rule?: { issuer?: string; audiences?: string[]; jwks_uri?: string; jwks?: string }; stage?: 'unmarshal'; error?: string } {
  return JSON.parse(execFileSync(PYTHON, [join(VERIFIERS, 'istiod_jwt_rule.py'), '--unmarshal', jwtRule], { encoding: 'utf8' })) as ReturnType<typeof istiodJwtRuleUnmarshal>;
}

/** {@link istiodVerdict} without blocking this process: for an issuer served by this very process. */
export async function istiodVerdictAsync(jwtRule: string, token: string): Promise<IstiodVerdict> {
  const { stdout } = await execFileAsync(PYTHON, [join(VERIFIERS, 'istiod_jwt_rule.py'), jwtRule, token], { encoding: 'utf8' });
  return JSON.parse(stdout) as IstiodVerdict;
}

export interface Verdict {
  ok: boolean;
  error?: string;
  claims?: Record<string, unknown>;
}

export interface KumaDataplane {
  name: string;
  mesh: string;
  labels: Record<string, string>;
}

export interface KumaRequest {
  token: string;
  /** What the CP config holds: `dpServer.authn.dpProxy.dpToken.validator.publicKeys`. */
  publicKeys: { kid: string; key: string; mesh?: string }[];
  dataplane: KumaDataplane;
  /** Whether the data plane's MeshIdentity derives its SPIFFE ID from `kuma.io/workload`. */
  identityFromWorkloadLabel?: boolean;
}

/** Kuma's verdict on a data-plane token, from kuma_dp_token.py; a refusal is `{ ok: false, error }`, a broken verifier throws. */
export function kumaVerdict(request: KumaRequest): Promise<Verdict> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(VERIFIERS, 'kuma_dp_token.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`verifier exited ${code}: ${err}`);
        resolve(JSON.parse(out) as Verdict);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}

/** The `# profile=… kid=…` + PEM blocks `ecs-mesh keys export --format pem` prints, as Kuma's config entries. */
export function parsePemExport(text: string, mesh?: string): { kid: string; key: string; mesh?: string }[] {
  const blocks = [...text.matchAll(/^# profile=\S+ kid=(\S+)[^\n]*\n(-----BEGIN PUBLIC KEY-----\n[\s\S]*?-----END PUBLIC KEY-----\n)/gm)];
  return blocks.map(([, kid, key]) => ({ kid: kid!, key: key!, ...(mesh ? { mesh } : {}) }));
}
