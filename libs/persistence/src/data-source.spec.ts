import { describe, expect, it } from '@jest/globals';
import { createDataSourceOptions, MIGRATIONS } from './data-source.js';
import { ENTITIES } from './entities.js';

describe('createDataSourceOptions', () => {
  const options = createDataSourceOptions({ url: 'postgres://postgres@127.0.0.1:5432/ciba', poolSize: 7 });

  it('never synchronises the schema and never migrates on start', () => {
    expect(options).toMatchObject({ type: 'postgres', synchronize: false, migrationsRun: false, migrationsTableName: 'migrations' });
  });

  it('lists entities and migrations explicitly (classes, not globs)', () => {
    expect(options.entities).toEqual([...ENTITIES]);
    expect(options.migrations).toEqual([...MIGRATIONS]);
    expect(ENTITIES.every((entity) => typeof entity === 'function')).toBe(true);
  });

  it('passes the URL, pool size and logging through', () => {
    expect(options).toMatchObject({ url: 'postgres://postgres@127.0.0.1:5432/ciba', poolSize: 7, logging: false });
    expect(createDataSourceOptions({ url: 'postgres://x', logging: true }).logging).toBe(true);
  });
});
