import Docker from 'dockerode';
import { RUNTIME_LABELS } from '@kern/sdk';

/** Force-removes every container a test's node agent made (by the node label), so tests leave nothing behind. */
export async function removeContainersOfNode(nodeName: string): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const left = await docker.listContainers({ all: true, filters: { label: [`${RUNTIME_LABELS.node}=${nodeName}`] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}
