import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createLogger,
  getLogger,
  type Logger,
  REDACTED_PATHS,
  rootLogger,
  setRootLogger,
} from '../../src/core/index.js';

type Line = Record<string, unknown>;

/** A logger of `createLogger` whose lines are parsed into `lines`. */
function logger(options: Parameters<typeof createLogger>[0] = {}): {
  log: Logger;
  lines: Line[];
} {
  const lines: Line[] = [];
  const log = createLogger(options, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createLogger', () => {
  const SECRETS = {
    password: 'pw-secret',
    auth_token: 'token-secret',
    authToken: 'camel-secret',
    _context_auth_token: 'context-secret',
    transport_url: 'rabbit://guest:url-secret@h/',
  };

  it('redacts the secret keys', () => {
    expect([...REDACTED_PATHS].sort()).toEqual(
      Object.keys(SECRETS)
        .flatMap((k) => [k, `*.${k}`])
        .sort(),
    );
  });

  it('redacts them at the top level of a line, as ***', () => {
    const { log, lines } = logger();
    log.info({ ...SECRETS, user: 'alice' }, 'hello');
    expect(lines[0]).toMatchObject({
      password: '***',
      auth_token: '***',
      authToken: '***',
      _context_auth_token: '***',
      transport_url: '***',
      user: 'alice',
      msg: 'hello',
    });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('redacts them one level down, and leaves the logged objects as they were', () => {
    const { log, lines } = logger();
    const ctx = { ...SECRETS, user: 'alice' };
    const message = { ...SECRETS, method: 'update_vim' };
    log.info({ ctx, message }, 'dispatch');
    expect(lines[0]?.['ctx']).toEqual({
      password: '***',
      auth_token: '***',
      authToken: '***',
      _context_auth_token: '***',
      transport_url: '***',
      user: 'alice',
    });
    expect(lines[0]?.['message']).toMatchObject({ method: 'update_vim', auth_token: '***' });
    expect(JSON.stringify(lines)).not.toContain('secret');
    expect(ctx.password).toBe('pw-secret');
    expect(message._context_auth_token).toBe('context-secret');
  });

  it('logs at info by default, at CONDUCTOR_LOG_LEVEL when set, at options.level above both', () => {
    vi.stubEnv('CONDUCTOR_LOG_LEVEL', undefined);
    expect(createLogger().level).toBe('info');
    vi.stubEnv('CONDUCTOR_LOG_LEVEL', 'debug');
    expect(createLogger().level).toBe('debug');
    expect(createLogger({ level: 'error' }).level).toBe('error');
    const { log, lines } = logger();
    log.trace('not written');
    log.debug('written');
    expect(lines.map((l) => l['msg'])).toEqual(['written']);
  });

  it('names lines conductor unless told otherwise', () => {
    const a = logger();
    a.log.info('x');
    const b = logger({ name: 'other' });
    b.log.info('x');
    expect([a.lines[0]?.['name'], b.lines[0]?.['name']]).toEqual(['conductor', 'other']);
  });
});

describe('root logger', () => {
  let saved: Logger;
  beforeEach(() => {
    saved = rootLogger();
  });
  afterEach(() => setRootLogger(saved));

  it('setRootLogger replaces it; getLogger gives children naming their module', () => {
    const { log, lines } = logger();
    const root = log.child({ service: 'svc' });
    setRootLogger(root);
    expect(rootLogger()).toBe(root);
    const periodic = getLogger('periodic');
    expect(periodic.bindings()).toEqual({ name: 'conductor', service: 'svc', module: 'periodic' });
    periodic.info({ password: 'pw-secret' }, 'tick');
    getLogger('messaging').warn('late');
    expect(lines).toMatchObject([
      { name: 'conductor', service: 'svc', module: 'periodic', password: '***', msg: 'tick' },
      { service: 'svc', module: 'messaging', msg: 'late', level: 40 },
    ]);
  });

  it('children follow the level of the root they came from', () => {
    const { log, lines } = logger({ level: 'warn' });
    setRootLogger(log);
    getLogger('periodic').info('dropped');
    getLogger('periodic').error('kept');
    expect(lines.map((l) => l['msg'])).toEqual(['kept']);
  });

  it('loggers handed out before a replacement stay with the old root', () => {
    const first = logger();
    const second = logger();
    setRootLogger(first.log);
    const early = getLogger('early');
    setRootLogger(second.log);
    early.info('a');
    getLogger('late').info('b');
    expect(first.lines.map((l) => l['msg'])).toEqual(['a']);
    expect(second.lines.map((l) => l['msg'])).toEqual(['b']);
  });

  it('is made on first use, at CONDUCTOR_LOG_LEVEL, and then kept', async () => {
    vi.stubEnv('CONDUCTOR_LOG_LEVEL', 'warn');
    vi.resetModules();
    const fresh = await import('../../src/core/logging.js');
    const made = fresh.rootLogger();
    expect(made.level).toBe('warn');
    expect(fresh.rootLogger()).toBe(made);
    expect(fresh.getLogger('x').bindings()).toEqual({ name: 'conductor', module: 'x' });
  });
});
