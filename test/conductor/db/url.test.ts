import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatabaseUrlError } from '../../../src/conductor/errors.js';
import { parseDatabaseUrl } from '../../../src/conductor/db/index.js';

describe('parseDatabaseUrl', () => {
  it('reads the SQLAlchemy sqlite forms', () => {
    expect(parseDatabaseUrl('sqlite:///data/conductor.db', '/srv/app')).toEqual({
      dialect: 'sqlite',
      filename: '/srv/app/data/conductor.db',
    });
    expect(parseDatabaseUrl('sqlite:////var/lib/tacker/x.db', '/srv')).toEqual({
      dialect: 'sqlite',
      filename: '/var/lib/tacker/x.db',
    });
    for (const memory of ['sqlite://', 'sqlite:///:memory:', 'sqlite:///'])
      expect(parseDatabaseUrl(memory)).toEqual({ dialect: 'sqlite', filename: ':memory:' });
    expect(parseDatabaseUrl('sqlite:///x.db')).toEqual({
      dialect: 'sqlite',
      filename: join(process.cwd(), 'x.db'),
    });
  });

  it('reads postgresql, postgres and postgresql+driver', () => {
    for (const url of [
      'postgresql://tacker:pw@db:5432/tacker',
      'postgres://tacker:pw@db:5432/tacker',
      'postgresql+psycopg2://tacker:pw@db:5432/tacker',
    ])
      expect(parseDatabaseUrl(url)).toEqual({
        dialect: 'postgres',
        connectionString: 'postgresql://tacker:pw@db:5432/tacker',
      });
    // A Unix socket: no host, the socket folder as a query parameter.
    expect(parseDatabaseUrl('postgresql+psycopg2://tacker@/tacker?host=/run/postgresql')).toEqual({
      dialect: 'postgres',
      connectionString: 'postgresql://tacker@/tacker?host=/run/postgresql',
    });
  });

  it('rejects anything else with DatabaseUrlError, never showing the password', () => {
    for (const url of [
      'mysql+pymysql://tacker:s3cret@db/tacker',
      'mysql://tacker:s3cret@db/tacker',
      'tacker:s3cret garbage',
      'sqlite://host/x.db',
      'sqlite:///x.db?mode=ro',
      'postgresql://tacker:s3cret@db:bad-port/tacker',
    ]) {
      const err = (() => {
        try {
          parseDatabaseUrl(url);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, url).toBeInstanceOf(DatabaseUrlError);
      expect(err).toMatchObject({ code: 'CONDUCTOR_DATABASE_URL' });
      expect((err as Error).message).not.toContain('s3cret');
    }
    expect(() => parseDatabaseUrl('mysql://u:p@db/x')).toThrow(/unsupported database 'mysql'/);
  });
});
