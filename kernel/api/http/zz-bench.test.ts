import { Agent, request } from 'node:http';
import { createApiTestContext } from '../../../test/helpers/api-test-context';
import { startHttpServer } from './http-server';

function post(agent: Agent, port: number, token: string, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume(); res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject); req.end(body);
  });
}

it('bench', async () => {
  const t = await createApiTestContext();
  const server = await startHttpServer(t.api, { host: '127.0.0.1', port: 0 });
  const N = Number(process.env.BENCH_N ?? 6000);
  let i = 0;
  const worker = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (i < N) {
      const n = i++;
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${n}`, labels: { app: 'bench' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
      const code = await post(agent, server.address.port, t.adminToken, '/api/v1/namespaces/default/pods', body);
      if (code !== 201) throw new Error(`status ${code}`);
    }
    agent.destroy();
  };
  const started = process.hrtime.bigint();
  await Promise.all([worker(), worker()]);
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${N} creates in ${secs.toFixed(2)} s = ${(N / secs).toFixed(0)}/s`);
  await server.close();
  await t.cleanup();
}, 120000);
