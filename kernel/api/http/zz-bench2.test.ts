import { createApiTestContext } from '../../../test/helpers/api-test-context';
it('bench direct', async () => {
  const t = await createApiTestContext();
  const N = 6000;
  let started = process.hrtime.bigint();
  for (let n = 0; n < N; n++) {
    await t.syscalls.dispatch('state.create', { object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${n}`, labels: { app: 'bench' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } }, { principal: 'x' });
  }
  let secs = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`dispatch: ${(N / secs).toFixed(0)}/s`);
  started = process.hrtime.bigint();
  for (let n = 0; n < N; n++) {
    await t.store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `q-${n}`, namespace: 'default', labels: { app: 'bench' } }, spec: { containers: [{ name: 'main', image: 'busybox' }] } });
  }
  secs = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`store: ${(N / secs).toFixed(0)}/s`);
  await t.cleanup();
}, 120000);
