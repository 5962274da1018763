/**
 * PyJWT (pinned in requirements-dev.txt, in the project's .venv) verifying our tokens by istiod's
 * or Kuma's rules: a verifier that shares no code with the signer. See third_party_verifier.py.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const PYTHON = join(root, '.venv', 'bin', 'python');
const SCRIPT = join(root, 'test', 'support', 'third_party_verifier.py');

export interface Verdict {
  ok: boolean;
  error?: string;
  claims?: Record<string, unknown>;
}

export interface IstioRequest {
  mode: 'istio';
  token: string;
  issuer: string;
  audiences: string[];
}

export interface KumaDataplane {
  name: string;
  mesh: string;
  labels: Record<string, string>;
}

export interface KumaRequest {
  mode: 'kuma';
  token: string;
  /** What the CP config holds: `dpServer.authn.dpProxy.dpToken.validator.publicKeys`. */
  publicKeys: { kid: string; key: string; mesh?: string }[];
  dataplane: KumaDataplane;
  /** Whether the data plane's MeshIdentity derives its SPIFFE ID from `kuma.io/workload`. */
  identityFromWorkloadLabel?: boolean;
}

/** Runs one verification; a refusal is `{ ok: false, error }`, a broken verifier throws. */
export function verifyWithPyJwt(request: IstioRequest | KumaRequest): Promise<Verdict> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
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
