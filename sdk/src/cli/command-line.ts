import { errors } from '../errors';

/**
 * Splits a command line the way a shell would for simple cases: words
 * separated by spaces, single quotes literal, double quotes and backslashes
 * as in sh. No variables, globs or operators (`--command "node dist/main.js"`).
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) current += text[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw errors.invalid('command', `unterminated ${quote} quote in ${JSON.stringify(text)}`);
  if (inWord) words.push(current);
  return words;
}
