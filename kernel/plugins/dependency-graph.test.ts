import { DependencyNode, activationOrder, planActivation } from './dependency-graph';

const n = (id: string, requires: Record<string, string> = {}, version = '1.0.0'): DependencyNode => ({ id, version, requires });

describe('dependency graph', () => {
  it.each<[string, DependencyNode[], string[] | undefined, string[]]>([
    ['no dependencies keeps the given order', [n('a'), n('b'), n('c')], undefined, ['a', 'b', 'c']],
    ['a chain given backwards', [n('c', { b: '^1' }), n('b', { a: '^1' }), n('a')], undefined, ['a', 'b', 'c']],
    ['a diamond', [n('top', { left: '*', right: '*' }), n('left', { base: '*' }), n('right', { base: '*' }), n('base')], undefined, ['base', 'left', 'right', 'top']],
    ['roots pull in only what they need', [n('a'), n('b', { a: '*' }), n('c', { b: '*' }), n('x')], ['b'], ['a', 'b']],
    ['roots in their order', [n('a'), n('b'), n('c')], ['c', 'a'], ['c', 'a']],
    ['a shared dependency once', [n('a'), n('b', { a: '*' }), n('c', { a: '*' })], ['b', 'c'], ['a', 'b', 'c']],
  ])('orders %s', (_name, nodes, roots, order) => {
    const plan = planActivation(nodes, roots);
    expect(plan.problems.size).toBe(0);
    expect(plan.order).toEqual(order);
    expect(activationOrder(nodes, roots)).toEqual(order);
  });

  it('refuses a cycle, naming it from each member', () => {
    const plan = planActivation([n('a', { b: '*' }), n('b', { c: '*' }), n('c', { a: '*' }), n('ok')]);
    expect(plan.order).toEqual(['ok']);
    expect(plan.problems.get('a')?.message).toBe('dependency cycle: a → b → c → a; remove one of these requires');
    expect(plan.problems.get('b')?.message).toContain('dependency cycle: b → c → a → b');
    expect(plan.problems.get('c')?.message).toContain('dependency cycle: c → a → b → c');
    expect(plan.problems.get('a')?.kind).toBe('FailedPrecondition');
    expect(plan.problems.get('a')?.code).toBe('KERN_ERR_PLUGIN_DEPENDENCY_CYCLE');
  });

  it('refuses what leads into a cycle with the whole chain', () => {
    const plan = planActivation([n('x', { a: '*' }), n('a', { b: '*' }), n('b', { a: '*' })], ['x']);
    expect(plan.order).toEqual([]);
    expect(plan.problems.get('x')?.message).toContain('dependency cycle: x → a → b → a');
    expect(plan.problems.get('a')?.message).toContain('dependency cycle: a → b → a');
  });

  it('refuses a missing dependency and its dependents, with the chain', () => {
    const plan = planActivation([n('top', { mid: '^1.0.0' }), n('mid', { gone: '^2.0.0' }), n('fine')]);
    expect(plan.order).toEqual(['fine']);
    expect(plan.problems.get('mid')?.message).toBe('missing dependency: mid → gone (mid requires gone ^2.0.0, which is not installed); install or load it');
    expect(plan.problems.get('top')?.message).toContain('missing dependency: top → mid → gone');
    expect(plan.problems.get('top')?.field).toBe('kern.requires.gone');
    expect(plan.problems.has('gone')).toBe(false);
  });

  it.each([
    ['^2.0.0', '1.4.0', false],
    ['^1.2.0', '1.4.0', true],
    ['~1.3.0', '1.4.0', false],
    ['>=1.0.0-beta.1', '1.0.0-beta.2', true],
    ['*', '0.0.1', true],
  ])('requires %s against installed %s: ok=%s', (range, installed, ok) => {
    const plan = planActivation([n('lib', {}, installed), n('app', { lib: range })]);
    expect(plan.problems.has('app')).toBe(!ok);
    if (!ok) {
      expect(plan.problems.get('app')?.message).toContain(`app → lib (app requires lib ${range} but lib ${installed} is installed)`);
      expect(plan.problems.get('app')?.code).toBe('KERN_ERR_PLUGIN_DEPENDENCY_VERSION');
    }
  });

  it('reports an unknown root as NotFound', () => {
    const plan = planActivation([n('a')], ['nope', 'a']);
    expect(plan.order).toEqual(['a']);
    expect(plan.problems.get('nope')?.kind).toBe('NotFound');
  });

  it('activationOrder throws the first problem', () => {
    expect(() => activationOrder([n('a', { b: '*' }), n('b', { a: '*' })])).toThrow('dependency cycle: a → b → a');
  });
});
