import { InvalidArgumentError } from 'commander';

/** A commander parser of whole numbers >= `min` (`--workers 4`, `--events 20`). */
export function wholeNumber(min: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`must be a whole number >= ${min}`);
    }
    return n;
  };
}
