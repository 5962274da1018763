/** The chaos run's figures as a plain two-column table, the must-be-0 rows marked. */
import type { ChaosReport } from './run-chaos.js';

export function formatChaosTable(r: ChaosReport): string {
  const rows: [string, string | number][] = [];
  const section = (title: string) => rows.push([`— ${title}`, '']);
  const join = (record: Record<string, number>) => Object.entries(record).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const { options: o } = r;

  section('scenario');
  rows.push(['tasks run / stopped / running at the end', `${r.tasks.run} / ${r.tasks.stopped} / ${r.tasks.runningAtEnd}`]);
  rows.push(['services (WorkloadGroups) / clusters / namespaces', `${o.services} / ${o.clusters} / ${o.namespaces}`]);
  rows.push(['seed', o.seed]);
  if (o.topology !== 'one-account') {
    rows.push(['topology / accounts / control planes', `${o.topology} / ${r.accounts.inMesh.length} / ${r.accounts.deployments}`]);
    rows.push(['entries in the mesh at the end, by account', r.accounts.inMesh.map(([account, n]) => `${account} ${n}`).join(', ')]);
    rows.push(['addresses running tasks of two accounts share', r.accounts.sharedAddresses]);
  }
  for (const change of r.changes) rows.push(['in the middle', change]);
  section('delivery (at least once)');
  rows.push(['events published by ECS', r.events.published]);
  rows.push(['events dropped entirely', `${r.events.dropped} (${pct(r.events.dropped, r.events.published)})`]);
  rows.push(['extra copies delivered (each event ×1–3)', r.events.duplicates]);
  rows.push(['messages sent / received / redelivered', `${r.events.deliveries} / ${r.events.receives} / ${r.events.redeliveries}`]);
  rows.push(['AWS calls by task-events', join(r.events.awsCalls)]);
  rows.push(['faults injected', `${r.faults.total} (${pct(o.faultRate, 1)} of calls): ${join(r.faults.byTarget)}`]);
  rows.push(['mesh outage / queue retry window', `${r.outage.virtualSeconds} s / ${r.outage.retryWindowSeconds} s (virtual)`]);
  rows.push(['messages on the DLQ', r.deadLettered]);
  section('istiod (sidecars of the probed groups, half of them)');
  const i = r.istiod;
  rows.push(['connects / refused (retried) / disconnects', `${i.connects} / ${i.refused} / ${i.disconnects}`]);
  rows.push(['network blips (past the grace period) / restarts', `${i.blips.total} (${i.blips.pastGrace}) / ${i.restarts}`]);
  rows.push(['probe reports / flaps failed (recovered)', `${i.probeReports} / ${i.flaps.failed} (${i.flaps.recovered})`]);
  rows.push(['istiod steps failed', i.failures]);
  section('before the pass (events alone)');
  rows.push(['missing / stale / drifted / wrongly present', `${r.beforePass.missing} / ${r.beforePass.stale} / ${r.beforePass.drifted} / ${r.beforePass.wronglyPresent}`]);
  section('one reconcile pass');
  rows.push(['tasks seen', r.pass.tasksSeen]);
  rows.push(['repairs by kind', join(r.pass.repairs)]);
  rows.push(['pass duration', `${(r.pass.durationMs / 1000).toFixed(1)} s`]);
  rows.push(['AWS calls in the pass', `${r.pass.awsCalls}: ${join(r.pass.awsCallsByCommand)}`]);
  rows.push(['Kubernetes API requests in the pass', r.pass.meshRequests]);
  section('then the DLQ redriven, faults on');
  rows.push(['messages redriven / back on the DLQ', `${r.deadLettered} / ${r.deadLetteredAfterRedrive}`]);
  section('after the pass and the redrive (must be 0)');
  rows.push(['entries expected (running, allowed)', r.afterPass.expected]);
  rows.push(['endpoints expected (running, allowed, healthy) / served', `${r.endpoints.expected} / ${r.endpoints.served}`]);
  rows.push(['converged pass: entries istiod co-wrote / mesh requests / repairs', `${r.convergedPass.entriesCoWritten} / ${r.convergedPass.meshRequests} / ${r.convergedPass.repairs}`]);
  for (const [name, n] of Object.entries(r.mustBeZero)) rows.push([name, n === 0 ? '0' : `${n}  ✗`]);
  rows.push(['wall time', `${r.wallSeconds} s`]);

  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => (v === '' ? k : `${k.padEnd(width)}  ${v}`)).join('\n');
}

const pct = (part: number, whole: number) => `${whole ? ((100 * part) / whole).toFixed(1) : '0'} %`;
