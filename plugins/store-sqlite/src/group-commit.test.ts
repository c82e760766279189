import { GroupCommit, Outcome } from './group-commit';

/** A GroupCommit whose commit records each batch and answers op * 10 (a negative op fails alone). */
function recorder() {
  const batches: number[][] = [];
  const group = new GroupCommit<number, number>((ops) => {
    batches.push([...ops]);
    return ops.map((op): Outcome<number> => (op < 0 ? { ok: false, error: new Error(`op ${op} failed`) } : { ok: true, value: op * 10 }));
  });
  return { batches, group };
}

describe('GroupCommit', () => {
  it('commits writes submitted together in one batch, answering each in order', async () => {
    const { batches, group } = recorder();
    await expect(Promise.all([group.submit(1), group.submit(2), group.submit(3)])).resolves.toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('lets a write that comes one turn of the loop later join the batch', async () => {
    const { batches, group } = recorder();
    const first = group.submit(1);
    // Queued behind the first write's setImmediate, so it comes after that
    // write's turn ended and before its batch commits.
    const second = new Promise<number>((resolve) => setImmediate(() => resolve(group.submit(2))));
    await expect(Promise.all([first, second])).resolves.toEqual([10, 20]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('fails only the write whose outcome is an error', async () => {
    const { group } = recorder();
    const results = await Promise.allSettled([group.submit(1), group.submit(-1), group.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('fails every write of a batch whose commit throws, and commits later ones afresh', async () => {
    let broken = true;
    const group = new GroupCommit<number, number>((ops) => {
      if (broken) throw new Error('disk full');
      return ops.map((op) => ({ ok: true, value: op }));
    });
    const results = await Promise.allSettled([group.submit(1), group.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    broken = false;
    await expect(group.submit(3)).resolves.toBe(3);
  });

  it('commits what is pending at once on flush (closing)', () => {
    const { batches, group } = recorder();
    void group.submit(5);
    expect(group.size).toBe(1);
    group.flush();
    expect(batches).toEqual([[5]]);
    expect(group.size).toBe(0);
  });
});
