import ini from 'ini';
import { describe, expect, it } from 'vitest';
import { parseIni } from '../../src/config/index.js';

/**
 * Why src/config/ini.ts does not use `ini@5`: these are ini@5's behaviours on oslo-style files
 * (pinned here so an upgrade that changes them is noticed), next to what oslo — and our parser — do.
 */
describe('ini@5 vs oslo on the same text', () => {
  const text = [
    '[DEFAULT]',
    'transport_url = rabbit://guest:pa;ss@host:5672/',
    'report_interval = 10 # seconds',
    "q = '123'",
    'b = true',
    'bare',
    'k = 1',
    'k = 2',
    '[section.sub]',
    'x = 1',
    '',
  ].join('\n');

  it('ini@5 truncates at inline ; and #, types values, nests dotted sections', () => {
    const o = ini.parse(text) as Record<string, Record<string, unknown>>;
    const d = o['DEFAULT'] as Record<string, unknown>;
    expect(d['transport_url']).toBe('rabbit://guest:pa'); // password silently cut
    expect(d['report_interval']).toBe('10');
    expect(d['q']).toBe(123); // JSON.parse of the unquoted text
    expect(d['b']).toBe(true);
    expect(d['bare']).toBe(true); // a line without '=' is `true`
    expect(d['k']).toBe('2');
    expect(o['section']).toEqual({ sub: { x: '1' } });
  });

  it('parseIni keeps oslo’s reading', () => {
    expect(() => parseIni(text, '/x.conf')).toThrow("/x.conf:6: no '=' or ':' in assignment");
    const p = parseIni(text.replace('bare\n', ''), '/x.conf');
    const d = p.sections.get('DEFAULT');
    expect(d?.get('transport_url')?.value).toBe('rabbit://guest:pa;ss@host:5672/');
    expect(d?.get('report_interval')?.value).toBe('10 # seconds'); // then a clear type error
    expect(d?.get('q')?.value).toBe('123');
    expect(d?.get('b')?.value).toBe('true');
    expect(d?.get('k')?.value).toBe('2');
    expect(p.sections.get('section.sub')?.get('x')?.value).toBe('1');
  });
});
