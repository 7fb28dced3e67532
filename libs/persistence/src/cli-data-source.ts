import { createDataSource } from './data-source.js';

/**
 * For the TypeORM CLI only (`typeorm migration:show -d dist/cli-data-source.js`); not exported
 * from the package, since it reads the environment at import time.
 */
const url = process.env['DATABASE_URL'];
if (!url) throw new Error('DATABASE_URL is not set: the TypeORM CLI needs postgres://user:password@host:port/database');

export default createDataSource({ url });
