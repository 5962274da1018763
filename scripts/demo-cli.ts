/** The operator's CLI as the demo runs it: `ecs-mesh <args>` as a process, against the local API, printing what an operator sees. */
import { spawn } from 'node:child_process';
import { LOCAL_OPERATOR } from '../local/iam-authorizer.js';

/** Runs `ecs-mesh <args>` with ECS_MESH_API_URL=`api` and the local operator's credentials; its output, or a throw naming the exit code. */
export function ecsMeshCli(api: string): (args: string[], options?: { print?: boolean }) => Promise<string> {
  return async (args, options = {}) => {
    const cli = spawn(process.execPath, ['--import', 'tsx', 'cli/ecs-mesh.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', ECS_MESH_API_URL: api, AWS_ACCESS_KEY_ID: LOCAL_OPERATOR.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_OPERATOR.secretAccessKey, AWS_REGION: 'us-east-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    cli.stdout.on('data', (c: Buffer) => (out += c.toString()));
    cli.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((done) => cli.once('exit', done));
    if (options.print !== false) console.log(`  $ ecs-mesh ${args.join(' ')}\n${out.trimEnd().replace(/^/gm, '    ')}`);
    if (code !== 0) throw new Error(`demo check failed: ecs-mesh ${args.join(' ')} exited ${code}: ${out}`);
    return out;
  };
}
