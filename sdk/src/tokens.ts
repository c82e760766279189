/**
 * A typed injection token. `Symbol.for` makes two copies of the sdk (say, one
 * bundled by a plugin) agree on the same token; the phantom type carries the
 * interface so `resolve` is typed.
 */
export type Token<T> = symbol & { readonly __type?: T };

export function createToken<T>(id: string): Token<T> {
  return Symbol.for(`kern:${id}`) as Token<T>;
}

/** Something that can be undone; every `register*` returns one. */
export interface Disposable {
  dispose(): void | Promise<void>;
}

export function toDisposable(fn: () => void | Promise<void>): Disposable {
  let done = false;
  return {
    dispose: () => {
      if (done) return;
      done = true;
      return fn();
    },
  };
}
