import { PassThrough } from 'node:stream';
import type Koa from 'koa';
import { ExecArgs, LogsArgs, errors } from '@kern/sdk';
import { RequestScope } from './resource-api';
import { openEventStream } from './watch-stream';

/**
 * Streaming syscalls over HTTP. The syscall is started before any header is
 * sent, so a refusal (NotFound, Forbidden, Invalid) is an ordinary error
 * reply; once running, chunks go out as they come and an error ends the
 * stream with an ERROR line.
 */
export async function streamSyscall(c: Koa.Context, scope: RequestScope, name: string, args: unknown): Promise<void> {
  const chunks = await scope.api.syscalls.stream(name, args, scope.caller);
  const stream = openEventStream(c, scope.tracker, scope.api.logger);
  const iterator = chunks[Symbol.asyncIterator]();
  stream.onEnd(() => { void iterator.return?.(); });
  void (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || stream.ended) break;
        stream.send(next.value as never);
      }
      stream.end();
    } catch (e) {
      stream.fail(e);
    }
  })();
}

/**
 * `GET .../namespaces/{ns}/pods/{name}/log` as kubectl asks for it
 * (`container`, `follow`, `tailLines`, `previous`): plain text, streamed.
 */
export async function streamPodLog(c: Koa.Context, scope: RequestScope, namespace: string, name: string): Promise<void> {
  const q = c.query;
  const flag = (v: unknown) => v === 'true' || v === '1';
  const tail = typeof q.tailLines === 'string' ? Number(q.tailLines) : undefined;
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw errors.invalid('tailLines', 'must be a whole number ≥ 0');
  const args: LogsArgs = {
    namespace, name,
    ...(typeof q.container === 'string' ? { container: q.container } : {}),
    follow: flag(q.follow), previous: flag(q.previous),
    ...(tail !== undefined ? { tail } : {}),
  };
  const chunks = await scope.api.syscalls.stream('compute.logs', args, scope.caller);
  const body = new PassThrough();
  c.status = 200;
  c.set('Content-Type', 'text/plain; charset=utf-8');
  c.body = body;
  const iterator = (chunks as AsyncIterable<{ data: string }>)[Symbol.asyncIterator]();
  let closed = false;
  c.res.once('close', () => { closed = true; void iterator.return?.(); });
  c.res.flushHeaders();
  void (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || closed) break;
        body.write(next.value.data);
      }
    } catch (e) {
      scope.api.logger.debug({ err: e }, 'log stream ended with an error');
    } finally {
      body.end();
    }
  })();
}

/** `POST .../namespaces/{ns}/pods/{name}/exec` with `{command, container?, stdin?}`: NDJSON frames. */
export async function streamPodExec(c: Koa.Context, scope: RequestScope, namespace: string, name: string, body: Record<string, unknown>): Promise<void> {
  const args: ExecArgs = { ...(body as unknown as ExecArgs), namespace, name };
  await streamSyscall(c, scope, 'compute.exec', args);
}
