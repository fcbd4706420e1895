import { describe, expect, it } from 'vitest';
import { MASK, maskUrlPassword } from '../../src/core/index.js';

// More cases (through the config face) in test/config/conf-secrets.test.ts.
describe('maskUrlPassword', () => {
  it('prints a secret as ***', () => {
    expect(MASK).toBe('***');
  });

  it.each([
    ['rabbit://guest:guest@localhost:5672/', 'rabbit://guest:***@localhost:5672/'],
    ['postgresql://tacker:pw@db:5432/tacker', 'postgresql://tacker:***@db:5432/tacker'],
    ['rabbit://guest:p%40ss@h/', 'rabbit://guest:***@h/'],
    ['amqp://u:p@[fe80::1]/', 'amqp://u:***@[fe80::1]/'],
    ['sqlite:///var/lib/tacker/tacker.db', 'sqlite:///var/lib/tacker/tacker.db'],
  ])('user:password@host: only the password goes (%s)', (input, output) => {
    expect(maskUrlPassword(input)).toBe(output);
  });

  it('masks the password of every host of a list, keeping users without one', () => {
    expect(maskUrlPassword('rabbit://a:1@h1:5672,b:2@h2:5673,c:3@h3/vh')).toBe(
      'rabbit://a:***@h1:5672,b:***@h2:5673,c:***@h3/vh',
    );
    expect(maskUrlPassword('rabbit://a@h1,b:2@h2/')).toBe('rabbit://a@h1,b:***@h2/');
  });

  it.each([
    ['rabbit://u:pa/ss@host/', 'rabbit://u:***@host/'],
    ['rabbit://u:pa?ss@host/', 'rabbit://u:***@host/'],
    ['rabbit://u:pa#ss@host/', 'rabbit://u:***@host/'],
    ['rabbit://u:p@ss@host:5672/v', 'rabbit://u:***@host:5672/v'],
    ['rabbit://u:a/b?c#d@e@host/', 'rabbit://u:***@host/'],
  ])('a raw @ / ? # in the password is masked whole (%s)', (input, output) => {
    expect(maskUrlPassword(input)).toBe(output);
  });

  it.each([
    // a user part with an @ but no password
    ['rabbit://a@b@host/', 'rabbit://***@host/'],
    // a "host" that is not one
    ['rabbit://u:secret@bad host/', 'rabbit://***@bad host/'],
    // hosts with and without credentials, a password with a comma
    ['rabbit://u:secret@h1,h2/', 'rabbit://***@h1,h2/'],
    ['rabbit://u:se,cret@host/', 'rabbit://***@host/'],
    // an @ after the host: everything up to the last @ counts as credentials
    ['rabbit://u:secret@host/vhost@x', 'rabbit://u:***@x'],
  ])('over-masks an ambiguous layout rather than leak (%s)', (input, output) => {
    expect(maskUrlPassword(input)).toBe(output);
    expect(maskUrlPassword(input)).not.toMatch(/secret|se,cret/);
  });

  it('masks password=, token= and the like in the query, any case, and nothing else', () => {
    expect(maskUrlPassword('postgresql://db/c?password=x&token=y')).toBe(
      'postgresql://db/c?password=***&token=***',
    );
    expect(maskUrlPassword('rabbit://u:p@h/?token=abc&ssl=1')).toBe(
      'rabbit://u:***@h/?token=***&ssl=1',
    );
    expect(maskUrlPassword('http://h/p?PASSWORD=a;secret=b#frag')).toBe(
      'http://h/p?PASSWORD=***;secret=***#frag',
    );
    expect(maskUrlPassword('x://h/?passwd=1&pass=2&pwd=3&user=bob')).toBe(
      'x://h/?passwd=***&pass=***&pwd=***&user=bob',
    );
    expect(maskUrlPassword('x://h/?mypassword=1&tokens=2')).toBe('x://h/?mypassword=1&tokens=2');
  });

  it.each([
    [''],
    ['hunter2'],
    ['guest:hunter2@host'],
    ['/var/lib/hunter2.db'],
    ['mailto:guest:hunter2@host'],
    ['://guest:hunter2@host/'],
    [' rabbit://guest:hunter2@host/'],
  ])('masks a value that is not a URL completely (%j)', (input) => {
    expect(maskUrlPassword(input)).toBe(MASK);
  });
});
