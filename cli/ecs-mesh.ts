/**
 * `ecs-mesh`: the operator CLI of the control plane's HTTP API (policies, explain, enrollments).
 * Run `ecs-mesh --help` for the commands; cli/mesh/main.ts holds the logic.
 */
import { text } from 'node:stream/consumers';
import { localContextPath, readLocalContext } from '../local/context.js';
import { main } from './mesh/main.js';

// The bin (scripts/ecs-mesh.mjs) and `npm run ecs-mesh` start us in the project root, but -f paths
// are the caller's: the bin passes its directory on, and npm keeps it in INIT_CWD.
const fromNpmRun = process.env.npm_lifecycle_event === 'ecs-mesh' ? process.env.INIT_CWD : undefined;
const cwd = process.env.ECS_MESH_CWD ?? fromNpmRun ?? process.cwd();
// exitCode rather than exit(): a piped stdout is flushed before the process ends.
process.exitCode = await main(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  cwd,
  stdin: () => text(process.stdin),
  // `npm run local`'s context file: with it, no URL, region or credentials need setting locally.
  localContext: () => readLocalContext(localContextPath(process.env)),
});
