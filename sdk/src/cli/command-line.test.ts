import { isKernelError } from '../errors';
import { splitCommand } from './command-line';

describe('splitCommand', () => {
  it.each<[string, string[]]>([
    ['node dist/main.js', ['node', 'dist/main.js']],
    ['  node   dist/main.js  ', ['node', 'dist/main.js']],
    ['node "dist/my main.js" --flag', ['node', 'dist/my main.js', '--flag']],
    ["sh -c 'echo $HOME; exit 1'", ['sh', '-c', 'echo $HOME; exit 1']],
    ['a\\ b "c\\"d" \'e\\f\'', ['a b', 'c"d', 'e\\f']],
    ['"" x', ['', 'x']],
    ['', []],
  ])('%j → %j', (text, words) => {
    expect(splitCommand(text)).toEqual(words);
  });

  it('an unterminated quote is Invalid', () => {
    let failure: unknown;
    try {
      splitCommand('node "dist/main.js');
    } catch (e) {
      failure = e;
    }
    expect(isKernelError(failure) && failure.field).toBe('command');
  });
});
