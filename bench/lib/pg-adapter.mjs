// A PostgreSQL adapter for node-oidc-provider (the reference on PostgreSQL): one table keyed by
// (model, id) with the payload as JSONB and an expiry, following the adapter interface of
// oidc-provider's example/my_adapter.js: upsert, find, findByUid, findByUserCode, consume, destroy,
// revokeByGrantId. Plain parameterised statements on a pg pool, one per call, durable (a logged
// table, autocommit).
//
// Like the in-memory adapter, `find` answers nothing once a row has expired; expired rows are not
// swept here (the run is shorter than any lifetime it uses). `consume` sets a timestamp that `find`
// returns as `consumed` and that a later `upsert` of the same id keeps: what was consumed stays
// consumed.

export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS oidc_payloads (
    model       text        NOT NULL,
    id          text        NOT NULL,
    payload     jsonb       NOT NULL,
    grant_id    text,
    user_code   text,
    uid         text,
    expires_at  timestamptz,
    consumed_at timestamptz,
    PRIMARY KEY (model, id)
  );
  CREATE INDEX IF NOT EXISTS oidc_payloads_grant_id ON oidc_payloads (model, grant_id) WHERE grant_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_payloads_user_code ON oidc_payloads (model, user_code) WHERE user_code IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_payloads_uid ON oidc_payloads (model, uid) WHERE uid IS NOT NULL;
`;

const LIVE = '(expires_at IS NULL OR expires_at > now())';

function hydrate(row) {
  if (!row) return undefined;
  return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
}

export class PgAdapter {
  /** @param {string} model oidc-provider model name, e.g. "BackchannelAuthenticationRequest" */
  constructor(model, pool) {
    this.model = model;
    this.pool = pool;
  }

  async upsert(id, payload, expiresIn) {
    await this.pool.query(
      `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
       ON CONFLICT (model, id) DO UPDATE
         SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, user_code = EXCLUDED.user_code,
             uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
      [this.model, id, payload, payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, typeof expiresIn === 'number' ? expiresIn : null],
    );
  }

  async find(id) {
    const { rows } = await this.pool.query(`SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND id = $2 AND ${LIVE}`, [this.model, id]);
    return hydrate(rows[0]);
  }

  async findByUid(uid) {
    const { rows } = await this.pool.query(`SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND uid = $2 AND ${LIVE} LIMIT 1`, [this.model, uid]);
    return hydrate(rows[0]);
  }

  async findByUserCode(userCode) {
    const { rows } = await this.pool.query(`SELECT payload, consumed_at FROM oidc_payloads WHERE model = $1 AND user_code = $2 AND ${LIVE} LIMIT 1`, [
      this.model,
      userCode,
    ]);
    return hydrate(rows[0]);
  }

  async consume(id) {
    await this.pool.query('UPDATE oidc_payloads SET consumed_at = now() WHERE model = $1 AND id = $2', [this.model, id]);
  }

  async destroy(id) {
    await this.pool.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [this.model, id]);
  }

  /** oidc-provider calls this once per token model (AccessToken, RefreshToken, …) when it revokes a grant. */
  async revokeByGrantId(grantId) {
    await this.pool.query('DELETE FROM oidc_payloads WHERE model = $1 AND grant_id = $2', [this.model, grantId]);
  }
}
