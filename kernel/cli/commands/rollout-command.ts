import { Command } from 'commander';
import { Deployment, KernelError, ReplicaSet } from '@kern/sdk';
import { usageError } from '../cli-error';
import { CliContext } from '../cli-context';
import { formatTable } from '../table-printer';
import { updateWithRetry } from './object-update';

/** Annotations and labels the workloads plugin writes (kept in step with plugins/workloads). */
const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

interface RolloutOptions { namespace?: string; toRevision?: string; timeout?: string; watch?: boolean }

function deploymentName(kind: string, name: string | undefined): string {
  let k = kind;
  let n = name;
  if (kind.includes('/')) [k, n] = [kind.slice(0, kind.indexOf('/')), kind.slice(kind.indexOf('/') + 1)];
  if (!['deployment', 'deployments', 'deploy'].includes(k.toLowerCase())) throw usageError(`rollout works on deployments, not "${k}": kern rollout status deployment NAME`);
  if (!n) throw usageError('name the deployment: kern rollout status deployment NAME');
  return n;
}

async function getDeployment(ctx: CliContext, namespace: string, name: string): Promise<Deployment> {
  return (await ctx.client.syscall('state.get', { kind: 'Deployment', namespace, name })) as Deployment;
}

/** The ReplicaSets a deployment controls, oldest revision first. */
async function replicaSetsOf(ctx: CliContext, d: Deployment): Promise<ReplicaSet[]> {
  const list = await ctx.client.syscall('state.list', { kind: 'ReplicaSet', namespace: d.metadata.namespace });
  return (list.items as ReplicaSet[])
    .filter((rs) => rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid))
    .sort((a, b) => revisionOf(a) - revisionOf(b));
}

const revisionOf = (rs: ReplicaSet) => Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0) || 0;

async function update(ctx: CliContext, namespace: string, name: string, change: (d: Deployment) => void): Promise<void> {
  await updateWithRetry<Deployment>(ctx, { kind: 'Deployment', namespace, name }, change);
}

/** One line about where a rollout stands, and whether it is done (kubectl's wording). */
export function rolloutStatusLine(d: Deployment): { done: boolean; message: string; failed?: boolean } {
  const name = d.metadata.name;
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 1)) return { done: false, message: `Waiting for deployment spec update to be observed...` };
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return { done: true, failed: true, message: `deployment "${name}" exceeded its progress deadline` };
  if (d.spec?.paused) return { done: true, message: `deployment "${name}" is paused: kern rollout resume deployment ${name}` };
  const updated = s.updatedReplicas ?? 0;
  if (updated < want) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...` };
  if ((s.replicas ?? 0) > updated) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${(s.replicas ?? 0) - updated} old replicas are pending termination...` };
  if ((s.availableReplicas ?? 0) < updated) return { done: false, message: `Waiting for deployment "${name}" rollout to finish: ${s.availableReplicas ?? 0} of ${updated} updated replicas are available...` };
  return { done: true, message: `deployment "${name}" successfully rolled out` };
}

export async function runRollout(ctx: CliContext, action: string, kind: string, nameArg: string | undefined, o: RolloutOptions): Promise<number> {
  const name = deploymentName(kind, nameArg);
  const namespace = o.namespace || 'default';
  switch (action) {
    case 'status': {
      const deadline = Date.now() + Number(o.timeout ?? 600) * 1000;
      let last = '';
      for (;;) {
        const st = rolloutStatusLine(await getDeployment(ctx, namespace, name));
        if (st.message !== last) ctx.out(st.message + '\n');
        last = st.message;
        if (st.failed) throw new KernelError('DeadlineExceeded', st.message);
        if (st.done || o.watch === false) return st.done ? 0 : 1;
        if (Date.now() > deadline) throw new KernelError('DeadlineExceeded', `timed out waiting for deployment "${name}" to roll out (--timeout waits longer)`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    case 'history': {
      const d = await getDeployment(ctx, namespace, name);
      const rows = (await replicaSetsOf(ctx, d)).map((rs) => [String(revisionOf(rs)), rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? '<none>']);
      ctx.out(`deployment.apps/${name}\n` + formatTable(['REVISION', 'CHANGE-CAUSE'], rows).join('\n') + '\n');
      return 0;
    }
    case 'undo': {
      const d = await getDeployment(ctx, namespace, name);
      const sets = await replicaSetsOf(ctx, d);
      const current = Math.max(0, ...sets.map(revisionOf));
      let target: ReplicaSet | undefined;
      if (o.toRevision !== undefined && o.toRevision !== '0') {
        target = sets.find((rs) => String(revisionOf(rs)) === o.toRevision);
        if (!target) throw usageError(`deployment "${name}" has no revision ${o.toRevision}: kern rollout history deployment ${name} lists them`);
      } else {
        target = [...sets].reverse().find((rs) => revisionOf(rs) < current);
        if (!target) throw usageError(`deployment "${name}" has no previous revision to go back to`);
      }
      const template = JSON.parse(JSON.stringify(target.spec!.template)) as NonNullable<Deployment['spec']>['template'];
      if (template.metadata?.labels) delete template.metadata.labels[POD_TEMPLATE_HASH_LABEL];
      await update(ctx, namespace, name, (x) => { x.spec = { ...x.spec!, template }; });
      ctx.out(`deployment.apps/${name} rolled back to revision ${revisionOf(target)}\n`);
      return 0;
    }
    case 'pause':
    case 'resume': {
      await update(ctx, namespace, name, (x) => { x.spec = { ...x.spec!, paused: action === 'pause' }; });
      ctx.out(`deployment.apps/${name} ${action === 'pause' ? 'paused' : 'resumed'}\n`);
      return 0;
    }
    default:
      throw usageError(`unknown rollout action "${action}": use status, history, undo, pause or resume`);
  }
}

export function rolloutCommand(run: (fn: (ctx: CliContext) => Promise<number | void>, cmd: Command) => Promise<void>): Command {
  return new Command('rollout')
    .description('manage a deployment rollout: status, history, undo [--to-revision N], pause, resume')
    .argument('<action>', 'status | history | undo | pause | resume')
    .argument('<type|type/name>', 'deployment (or deployment/NAME)')
    .argument('[name]', 'the deployment')
    .option('-n, --namespace <ns>', 'namespace (default: default)')
    .option('--to-revision <n>', 'undo: the revision to go back to (default: the previous one)')
    .option('--timeout <seconds>', 'status: how long to wait (default: 600)')
    .option('--no-watch', 'status: print the state once instead of waiting')
    .action(async (action: string, kind: string, name: string | undefined, opts: RolloutOptions, cmd: Command) => {
      await run((ctx) => runRollout(ctx, action, kind, name, opts), cmd);
    });
}
