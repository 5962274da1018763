#!/usr/bin/env node
// The `ecs-mesh` bin (npm link / npx): runs the CLI through scripts/run.mjs, which starts it from the
// project root, so the caller's directory is passed on for relative `-f` paths.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runner = join(dirname(fileURLToPath(import.meta.url)), 'run.mjs');
const child = spawn(process.execPath, [runner, 'ecs-mesh', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, ECS_MESH_CWD: process.cwd() } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
