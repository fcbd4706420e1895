import { describe, expect, it, vi } from 'vitest';
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

  it('builds the same context straight from prefixed wire keys as from the dict', () => {
    const dicts: Record<string, unknown>[] = [
      new RequestContext({
        userId: 'u',
        projectId: 'p',
        roles: ['admin'],
        authToken: 'tok',
        extra: { system_scope: 'all' },
      }).toDict() as unknown as Record<string, unknown>,
      { user: 'legacy', tenant: 't', tenant_name: 'tn', is_admin: 'yes', roles: ['a', 5] },
      JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "custom": [1]}') as Record<
        string,
        unknown
      >,
      {},
    ];
    for (const d of dicts) {
      const wire: Record<string, unknown> = { method: 'echo', args: {}, _msg_id: 'm' };
      for (const k of Object.keys(d)) {
        Object.defineProperty(wire, `_context_${k}`, { value: d[k], enumerable: true });
      }
      const direct = RequestContext.fromPrefixed(wire);
      const viaDict = RequestContext.fromDict(d);
      // Made on use when the wire has none: not compared.
      const made = { request_id: '', timestamp: '' };
      expect({ ...direct.toDict(), ...made }).toEqual({ ...viaDict.toDict(), ...made });
      expect(direct.toDict()).not.toHaveProperty('method');
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
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
    // `__proto__` is an unknown key like any other: kept, in order, as own data.
    expect(Object.keys(back.extra)).toEqual(['__proto__', 'system_scope', 'service_roles']);
    expect(back.extra['__proto__']).toEqual({ p: 1 });
    expect(back.extra['system_scope']).toBe('all');
    expect(back.extra['service_roles']).toEqual(['x']);
    const dict = back.toDict() as unknown as Record<string, unknown>;
    expect(Object.getPrototypeOf(dict)).toBe(Object.prototype);
    expect(Object.keys(dict).slice(-3)).toEqual(['__proto__', 'system_scope', 'service_roles']);
    expect(JSON.stringify(dict)).toBe(
      JSON.stringify(wire).replace(',"system_scope"', ',"__proto__":{"p":1},"system_scope"'),
    );
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

  it('reads the legacy aliases; the current names win', () => {
    const legacy = RequestContext.fromDict({ user: 'u', tenant: 't', tenant_name: 'tn' });
    expect([legacy.userId, legacy.projectId, legacy.projectName]).toEqual(['u', 't', 'tn']);
    const both = RequestContext.fromDict({
      user_id: 'u-new',
      user: 'u-old',
      project_id: 'p-new',
      tenant_id: 'p-mid',
      tenant: 'p-old',
      project_name: 'pn-new',
      tenant_name: 'pn-old',
    });
    expect([both.userId, both.projectId, both.projectName]).toEqual(['u-new', 'p-new', 'pn-new']);
    expect(RequestContext.fromDict({ tenant_id: 'p-mid', tenant: 'p-old' }).projectId).toBe(
      'p-mid',
    );
  });

  it('writes each field under all of its wire names', () => {
    const d = new RequestContext({ userId: 'u', projectId: 'p', projectName: 'pn' }).toDict();
    expect([d.user, d.user_id]).toEqual(['u', 'u']);
    expect([d.tenant, d.tenant_id, d.project_id]).toEqual(['p', 'p', 'p']);
    expect([d.tenant_name, d.project_name]).toEqual(['pn', 'pn']);
  });

  it('names all five identity fields in user_identity', () => {
    const ctx = new RequestContext({
      userId: 'u',
      projectId: 'p',
      domain: 'd',
      userDomain: 'ud',
      projectDomain: 'pd',
    });
    expect(ctx.userIdentity).toBe('u p d ud pd');
    expect(new RequestContext({ projectId: 'p' }).userIdentity).toBe('- p - - -');
  });

  it('makes its request id and timestamp once, when first read', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(Date.UTC(2024, 4, 1, 10, 0, 0, 5));
    let ctx: RequestContext;
    try {
      ctx = new RequestContext();
    } finally {
      now.mockRestore();
    }
    expect(ctx.timestamp).toBe('2024-05-01 10:00:00.005000');
    expect(ctx.timestamp).toBe(ctx.toDict().timestamp);
    expect(ctx.requestId).toBe(ctx.requestId);
    expect(ctx.toDict().request_id).toBe(ctx.requestId);
    expect(pythonTimestamp()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}000$/);
  });

  it('defaults the flags, and keeps non-boolean wire flags at their defaults', () => {
    const ctx = new RequestContext();
    expect([ctx.isAdmin, ctx.readOnly, ctx.showDeleted, ctx.isAdminProject]).toEqual([
      false,
      false,
      false,
      true,
    ]);
    const wire = RequestContext.fromDict({
      is_admin_project: 'no',
      read_only: 1,
      show_deleted: null,
    });
    expect([wire.isAdminProject, wire.readOnly, wire.showDeleted]).toEqual([true, false, false]);
    expect(RequestContext.fromDict({ is_admin_project: false }).isAdminProject).toBe(false);
  });

  it('owns its roles: neither the given array nor the dict form can change them', () => {
    const roles = ['reader'];
    const ctx = new RequestContext({ roles });
    roles.push('admin');
    ctx.toDict().roles.push('admin');
    expect(ctx.roles).toEqual(['reader']);
    expect(Object.isFrozen(ctx.roles)).toBe(true);
  });

  it('never lets extra keys replace known ones', () => {
    const ctx = new RequestContext({
      userId: 'u',
      extra: { user: 'evil', is_admin: true, auth_token: 'x', custom: 1 },
    });
    expect(ctx.extra).toEqual({ custom: 1 });
    expect(ctx.toDict()).toMatchObject({ user: 'u', is_admin: false, auth_token: null, custom: 1 });
  });

  it('leaves a missing auth token null in its JSON form', () => {
    expect(new RequestContext().toJSON().auth_token).toBeNull();
  });
});
