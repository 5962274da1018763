/** The help text (`ecs-mesh --help`), also printed after a usage error. */
export const USAGE = `usage: ecs-mesh <command> [flags]

Policies (OnboardingPolicy documents):
  policy apply -f FILE|DIR [-f ...]          create or update each document (.yaml, .yml, .json;
                                             several YAML documents per file; a DIR's files by name)
  policy get [NS/]NAME [-n NS]               show a policy; -o yaml|json prints the document only
  policy list -n NS                          the namespace's policies
  policy delete [NS/]NAME [-n NS] [--if-match REV]
  policy history [NS/]NAME [-n NS] [--limit N]

Decisions:
  explain --task-arn ARN [--cluster NAME] [--group NS/NAME]
  explain --account ID --identity-region R --cluster NAME (--role-arn ARN | --role-name NAME)
          [--zone Z] [--partition P] [--role-tag k=v ...] [--launch-type FARGATE|EC2|EXTERNAL]
          --group NS/NAME [--group-label k=v ...]
                                             would this task or identity be admitted to the group,
                                             and why (exit 0 whether allowed or refused)
  enrollments list [--cluster C] [-n NS] [--phase P] [--repair KIND] [--limit N]
                                             --repair: records the reconciler repaired (missing,
                                             drifted, revoked, group-gone, orphaned, stale-record)
  enrollments get TASK_ID|TASK_ARN

Repairs:
  reconcile [--cluster C] [-n NS] [--dry-run]
                                             run a reconcile pass now and print what was (with
                                             --dry-run: would be) repaired, by kind, task by task

Dead letters (task-events records set aside: malformed, or failing 5 receives):
  dlq list [--limit N]                       the records on the DLQ (default 20, at most 100), left
                                             there, with their reason and first-sent time
  dlq replay [--limit N]                     send them back through task-events as new events
                                             (default 100, at most 1000); a malformed one is set
                                             aside again

Signing keys (each claim profile has its own):
  keys list [--token-profile istio|kuma]     every published key: pending (not signing yet),
                                             active or retiring, with its times
  keys export --format pem|jwks [--token-profile istio|kuma] [--kid KID]
                                             the public keys, e.g. for Kuma's CP config (pem);
                                             jwks needs --token-profile
  keys rotate [--token-profile istio|kuma] [--emergency]
                                             publish a pending successor that signs after
                                             KEY_PREPUBLISH_SECONDS; --emergency signs at once
                                             (verifiers that have not refreshed refuse new tokens)

Global flags (anywhere):
  --api-url URL        the API's base URL (else ECS_MESH_API_URL)
  --region R           region to sign for (else AWS_REGION, AWS_DEFAULT_REGION, or the region of an
                       <id>.execute-api.<region>.amazonaws.com URL)
  --profile P          AWS profile (else the standard credential chain)
  -o, --output FORMAT  table (default), json or yaml
  -h, --help           this text

Exit codes: 0 done, 1 the API refused or failed (or a document is invalid), 2 usage error.
`;
