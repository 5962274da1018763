/** The task's ARN, from the ECS task metadata endpoint v4 (`${ECS_CONTAINER_METADATA_URI_V4}/task`). */
import * as z from 'zod/mini';
import '../../shared/core/zod-messages.js';
import { AgentTransientError } from './errors.js';
import { sendHttp } from './http.js';

const TaskMetadataSchema = z.looseObject({ TaskARN: z.string().check(z.regex(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/.+$/, 'must be an ECS task ARN')) });

const TIMEOUT_MS = 5000;

/** Returns a reader that asks the endpoint once and keeps the ARN: a task's ARN never changes. */
export function createTaskArnReader(metadataUri: string): (signal?: AbortSignal) => Promise<string> {
  let taskArn: string | undefined;
  return async (signal) => {
    if (taskArn) return taskArn;
    const answer = await sendHttp(`${metadataUri}/task`, { method: 'GET', timeoutMs: TIMEOUT_MS, ...(signal ? { signal } : {}) });
    if (answer.status !== 200) throw new AgentTransientError('TASK_METADATA_UNAVAILABLE', `task metadata endpoint answered ${answer.status}`);
    const parsed = TaskMetadataSchema.safeParse(parseJson(answer.text));
    if (!parsed.success) throw new AgentTransientError('TASK_METADATA_MALFORMED', `task metadata: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    taskArn = parsed.data.TaskARN;
    return taskArn;
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
