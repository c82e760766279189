import * as grpc from '@grpc/grpc-js';
import { errors } from '../errors';
import { Call, CallResult } from './protocol';
import { toDriverStatus } from './wire-errors';

/** Runs one request/response method call; resolves with what the method returned. */
export type RunCall = (method: string, argsJson: string) => Promise<unknown>;

/**
 * The driver's end of the `Calls` streams: runs each Call as it arrives
 * (concurrently, as unary Invokes would run) and answers with a CallResult
 * of the same id. `drain()` is for shutdown: the open streams take no new
 * calls, finish the ones they have and end with OK, so the server's graceful
 * shutdown does not wait on streams the kernel keeps open.
 */
export class CallStreams {
  private readonly open = new Set<() => void>();
  private draining = false;

  constructor(private readonly run: RunCall) {}

  serve(call: grpc.ServerDuplexStream<Call, CallResult>): void {
    let inFlight = 0;
    let noMoreCalls = false;
    const endWhenIdle = () => {
      if (!noMoreCalls || inFlight > 0) return;
      this.open.delete(stopTaking);
      if (!call.cancelled && !call.writableEnded) call.end();
    };
    const stopTaking = () => {
      noMoreCalls = true;
      endWhenIdle();
    };
    const reply = (result: CallResult) => {
      inFlight--;
      if (!call.cancelled && !call.writableEnded) call.write(result);
      endWhenIdle();
    };

    call.on('data', ({ id, method, argsJson }: Call) => {
      inFlight++;
      if (noMoreCalls) {
        reply(failure(id, errors.unavailable('the driver is stopping')));
        return;
      }
      this.run(method, argsJson).then(
        (result) => reply({ id, resultJson: JSON.stringify(result ?? null), errorCode: 0, errorDetails: '' }),
        (e) => reply(failure(id, e)),
      );
    });
    call.on('end', stopTaking);
    call.on('cancelled', () => this.open.delete(stopTaking)); // the kernel went away: nothing left to answer
    this.open.add(stopTaking);
    if (this.draining) stopTaking();
  }

  /** Stops every stream taking calls; each ends once its calls in flight are answered. */
  drain(): void {
    this.draining = true;
    for (const stopTaking of [...this.open]) stopTaking();
  }
}

function failure(id: number, e: unknown): CallResult {
  const status = toDriverStatus(e);
  return { id, resultJson: '', errorCode: status.code ?? grpc.status.INTERNAL, errorDetails: status.details ?? '' };
}
