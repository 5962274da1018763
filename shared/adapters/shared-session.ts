/**
 * One assumed-role session shared by several SDK clients (a member account's IAM and ECS clients
 * would each assume the role on their own), renewed `renewalMs` before it expires. A failed
 * AssumeRole is not kept: the next call tries again.
 */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export function sharedSession(assume: () => Promise<SessionCredentials>, renewalMs: number, now: () => number = Date.now): () => Promise<SessionCredentials> {
  let session: Promise<SessionCredentials> | undefined;
  return async () => {
    const fresh = (session ??= assume());
    const current = await fresh.catch((error: unknown) => {
      if (session === fresh) session = undefined;
      throw error;
    });
    if (!current.expiration || current.expiration.getTime() - now() >= renewalMs) return current;
    // Renewed once, by the first caller to see it due; the others wait for that one.
    if (session === fresh) session = assume();
    return session;
  };
}
