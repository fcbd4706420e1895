import { describe, expect, it } from 'vitest';
import { getAdminContext, pythonTimestamp, RequestContext } from '../../src/core/index.js';

describe('RequestContext', () => {
  it('has the Tacker wire keys, in order, with defaults', () => {
    const ctx = new RequestContext({ isAdmin: true, requestId: 'req-1', timestamp: 't' });
    expect(Object.keys(ctx.toDict())).toEqual([
      'user',
      'tenant',
      'domain',
      'user_domain',
      'project_domain',
      'is_admin',
      'read_only',
      'show_deleted',
      'auth_token',
      'request_id',
      'global_request_id',
      'resource_uuid',
      'roles',
      'user_identity',
      'is_admin_project',
      'user_id',
      'tenant_id',
      'project_id',
      'timestamp',
      'tenant_name',
      'project_name',
      'user_name',
    ]);
    expect(ctx.toDict()).toMatchObject({
      is_admin: true,
      user_identity: '- - - - -',
      roles: [],
      request_id: 'req-1',
    });
  });

  it('round-trips through the dict form', () => {
    const ctx = new RequestContext({
      userId: 'u',
      projectId: 'p',
      roles: ['admin'],
      authToken: 'tok',
      projectName: 'pn',
    });
    const back = RequestContext.fromDict(ctx.toDict() as unknown as Record<string, unknown>);
    expect(back.toDict()).toEqual(ctx.toDict());
    expect(back.userIdentity).toBe('u p - - -');
  });

  it('reads only known keys of the right type and cannot be polluted', () => {
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}, "is_admin": "yes", "roles": ["a", 5], "user": 7, "tenant": "t"}',
    ) as Record<string, unknown>;
    const ctx = RequestContext.fromDict(hostile);
    expect(ctx.isAdmin).toBe(false);
    expect(ctx.roles).toEqual(['a']);
    expect(ctx.userId).toBeNull();
    expect(ctx.projectId).toBe('t');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.isFrozen(ctx)).toBe(true);
  });

  it('carries unknown keys through unchanged, after the known ones', () => {
    const wire = {
      ...new RequestContext({ userId: 'u' }).toDict(),
      system_scope: 'all',
      service_roles: ['x'],
    };
    const back = RequestContext.fromDict(
      JSON.parse(`{"__proto__": {"p": 1}, ${JSON.stringify(wire).slice(1)}`) as Record<
        string,
        unknown
      >,
    );
    expect(back.extra).toEqual({ system_scope: 'all', service_roles: ['x'] });
    expect(back.toDict()).toEqual(wire);
    expect(Object.keys(back.toDict()).slice(-2)).toEqual(['system_scope', 'service_roles']);
    expect(Object.getPrototypeOf(back.extra)).toBeNull();
  });

  it('masks the auth token in its JSON (log) form only', () => {
    const ctx = new RequestContext({ authToken: 'secret' });
    expect(JSON.stringify(ctx)).not.toContain('secret');
    expect(ctx.toDict().auth_token).toBe('secret');
  });

  it('makes admin contexts with fresh request ids and Python timestamps', () => {
    const a = getAdminContext();
    const b = getAdminContext();
    expect(a.isAdmin).toBe(true);
    expect(a.requestId).toMatch(/^req-[0-9a-f-]{36}$/);
    expect(a.requestId).not.toBe(b.requestId);
    expect(pythonTimestamp(new Date(Date.UTC(2017, 8, 1, 10, 0, 0, 123)))).toBe(
      '2017-09-01 10:00:00.123000',
    );
  });
});
