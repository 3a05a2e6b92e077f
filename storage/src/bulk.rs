//! Multi-row statements whose SQL text does not depend on the number of rows.
//!
//! A plain multi-row `INSERT … VALUES (…), (…)` has a different text for
//! every row count, so PostgreSQL parses and plans it again each time (the
//! client's prepared-statement cache never hits), and binding a few thousand
//! parameters costs as much again. On PostgreSQL the rows therefore travel as
//! ONE JSON parameter, unpacked by `json_populate_recordset` (and id lists
//! by `json_array_elements_text`): one text per table, prepared once per
//! connection. That covers the group-commit writer's common path (new and
//! updated orders, events, reservations and their release, payments,
//! idempotency keys, worker upserts); the lease fences, checked only in a
//! cluster, keep a plain `IN` list. SQLite and MariaDB keep the plain statements.

use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, Iterable, Statement,
};
use std::fmt::Write as _;

/// Rows per plain multi-row statement: well under every backend's bound-parameter limit.
pub(crate) const CHUNK: usize = 500;

/// What an insert does when the key is taken.
#[derive(Clone, Copy)]
pub(crate) enum Conflict<'a> {
    /// Fail (a unique violation).
    Fail,
    /// Update these columns of the row with this key column.
    Update { key: &'a str, columns: &'a [&'a str] },
}

/// Inserts (or, per `conflict`, upserts) `rows`: on PostgreSQL in one
/// statement of fixed text, elsewhere in plain multi-row statements of up to
/// [`CHUNK`] rows.
pub(crate) async fn insert<C, A>(c: &C, mut rows: Vec<A>, conflict: Conflict<'_>) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    if rows.is_empty() {
        return Ok(());
    }
    if c.get_database_backend() == DbBackend::Postgres {
        return insert_json(c, &rows, conflict).await;
    }
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(CHUNK));
        let mut insert = sea_orm::Insert::many(rows);
        if let Conflict::Update { key, columns } = conflict {
            insert = insert.on_conflict(on_conflict::<A::Entity>(key, columns)?);
        }
        insert.exec_without_returning(c).await?;
        rows = rest;
    }
    Ok(())
}

/// The sea-query `ON CONFLICT` clause for `key` and `columns` of `E`.
fn on_conflict<E: EntityTrait>(key: &str, columns: &[&str]) -> Result<sea_orm::sea_query::OnConflict, DbErr> {
    let column = |name: &str| {
        E::Column::iter()
            .find(|c| sea_orm::IdenStatic::as_str(c) == name)
            .ok_or_else(|| DbErr::Custom(format!("no column {name} in {}", E::default().table_name())))
    };
    let update = columns.iter().map(|c| column(c)).collect::<Result<Vec<_>, _>>()?;
    Ok(sea_orm::sea_query::OnConflict::column(column(key)?).update_columns(update).to_owned())
}

/// PostgreSQL: `INSERT INTO t (cols) SELECT cols FROM json_populate_recordset(NULL::t, $1::json)`.
async fn insert_json<C, A>(c: &C, rows: &[A], conflict: Conflict<'_>) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    A: ActiveModelTrait,
{
    let table = <A::Entity as Default>::default().table_name().to_string();
    // The columns the first row sets (every row of one call sets the same).
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter().filter(|col| rows[0].get(*col).is_set()).collect();
    let names: Vec<&str> = columns.iter().map(sea_orm::IdenStatic::as_str).collect();
    let mut json = String::with_capacity(rows.len() * 256);
    json.push('[');
    for (i, row) in rows.iter().enumerate() {
        json.push_str(if i == 0 { "{" } else { ",{" });
        for (j, (col, name)) in columns.iter().zip(&names).enumerate() {
            if j > 0 {
                json.push(',');
            }
            let _ = write!(json, "\"{name}\":");
            match row.get(*col) {
                ActiveValue::Set(v) | ActiveValue::Unchanged(v) => push_json(&mut json, &v)?,
                ActiveValue::NotSet => json.push_str("null"),
            }
        }
        json.push('}');
    }
    json.push(']');
    let list = names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    let mut sql = format!(
        "INSERT INTO \"{table}\" ({list}) SELECT {list} FROM json_populate_recordset(NULL::\"{table}\", $1::json)"
    );
    if let Conflict::Update { key, columns } = conflict {
        let set = columns.iter().map(|u| format!("\"{u}\" = EXCLUDED.\"{u}\"")).collect::<Vec<_>>().join(", ");
        let _ = write!(sql, " ON CONFLICT (\"{key}\") DO UPDATE SET {set}");
    }
    c.execute(Statement::from_sql_and_values(DbBackend::Postgres, sql, [Value::from(json)])).await?;
    Ok(())
}

/// Appends `v` as JSON (the column types the tables use).
fn push_json(out: &mut String, v: &Value) -> Result<(), DbErr> {
    let written = match v {
        Value::String(Some(s)) => serde_json::to_string(s.as_str()).map(|s| out.push_str(&s)),
        Value::BigInt(Some(n)) => {
            let _ = write!(out, "{n}");
            Ok(())
        }
        Value::Int(Some(n)) => {
            let _ = write!(out, "{n}");
            Ok(())
        }
        Value::Bool(Some(b)) => {
            out.push_str(if *b { "true" } else { "false" });
            Ok(())
        }
        Value::String(None) | Value::BigInt(None) | Value::Int(None) | Value::Bool(None) => {
            out.push_str("null");
            Ok(())
        }
        other => return Err(DbErr::Custom(format!("bulk insert: unsupported column value {other:?}"))),
    };
    written.map_err(|e| DbErr::Custom(format!("bulk insert: {e}")))
}

/// A JSON array of `ids`, for `= ANY (ARRAY(SELECT json_array_elements_text($1::json)))`.
pub(crate) fn json_id_list<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<String, DbErr> {
    serde_json::to_string(&ids.into_iter().collect::<Vec<_>>()).map_err(|e| DbErr::Custom(e.to_string()))
}
