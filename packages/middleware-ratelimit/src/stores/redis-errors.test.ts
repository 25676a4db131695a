import { describe, expect, it } from 'vitest';
import { describeRedisError } from './redis-errors.js';

const sysErr = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.7:6379`), { code });

describe('describeRedisError: plain words for operators', () => {
  it.each([
    [sysErr('ECONNREFUSED'), undefined, 'Redis unreachable (connection refused)'],
    [sysErr('ENOTFOUND'), undefined, 'Redis unreachable (host not found)'],
    [sysErr('ETIMEDOUT'), undefined, 'Redis unreachable (connection timed out)'],
    [
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      sysErr('ECONNREFUSED'),
      'Redis unreachable (connection refused)',
    ],
    [
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      undefined,
      'Redis not connected (reconnecting)',
    ],
    [new Error('Connection is closed.'), sysErr('ECONNRESET'), 'Redis unreachable (connection reset)'],
    [new Error('Command timed out'), undefined, 'Redis did not answer in time (command timeout)'],
    [
      new Error('WRONGPASS invalid username-password pair or user is disabled.'),
      undefined,
      'Redis refused the credentials (check the URL or password)',
    ],
    [
      new Error('NOAUTH Authentication required.'),
      undefined,
      'Redis refused the credentials (check the URL or password)',
    ],
    [new Error('LOADING Redis is loading the dataset in memory'), undefined, 'Redis not ready (LOADING)'],
  ])('%s -> %s', (err, last, words) => {
    const said = describeRedisError(err, last);
    expect(said).toBe(words);
    expect(said).not.toMatch(/enableOfflineQueue|10\.0\.0\.7|\n/);
  });

  it('keeps an unknown error to its first line', () => {
    expect(describeRedisError(new Error('ERR something odd\n    at x (y.js:1:2)'))).toBe(
      'Redis failed: ERR something odd',
    );
  });
});
