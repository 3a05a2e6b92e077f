//! Leases: which node owns a resource (a worker actor, a periodic job),
//! guarded by a fencing token that grows with every change of holder.
//!
//! A holder passes its token along with the work it does; anything that sees
//! a smaller token than the current one knows the holder was replaced. A
//! released lease keeps its row (merely expired) so that the token never goes
//! back to 1.

use crate::change::TRANSIENT_RETRIES;
use crate::db::Db;
use crate::entity::leases;
use crate::error::{is_transient, is_unique_violation, StorageError};
use sea_orm::sea_query::{Expr, LikeExpr, SimpleExpr};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryTrait, TransactionTrait,
};
use serde::{Deserialize, Serialize};

/// A lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// What is leased.
    pub resource: String,
    /// Who holds it.
    pub owner: String,
    /// Grows with every change of holder.
    pub fencing_token: i64,
    /// When it lapses unless renewed, epoch ms.
    pub expires_at_ms: i64,
}

/// A lease a write depends on: the write goes through only while `resource`
/// still carries `token` (see [`OrderChange::fence`](crate::OrderChange::fence)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The leased resource (e.g. `worker/<id>`).
    pub resource: String,
    /// The fencing token the writer was handed when it took the lease.
    pub token: i64,
}

impl Fence {
    /// A fence on `resource` at `token`.
    pub fn new(resource: impl Into<String>, token: i64) -> Self {
        Fence { resource: resource.into(), token }
    }

    /// Whether the stored lease row (if any) still carries this fence: same
    /// token and not released (a released lease has `expires_at_ms` 0).
    ///
    /// Expiry against the clock is deliberately not checked: a holder renewing
    /// late is still the holder until someone takes the lease over, which
    /// bumps the token.
    pub(crate) fn holds(&self, row: Option<&leases::Model>) -> bool {
        row.is_some_and(|r| r.fencing_token == self.token && r.expires_at_ms > 0)
    }
}

impl From<&Lease> for Fence {
    fn from(l: &Lease) -> Self {
        Fence { resource: l.resource.clone(), token: l.fencing_token }
    }
}

impl From<leases::Model> for Lease {
    fn from(m: leases::Model) -> Self {
        Lease { resource: m.resource, owner: m.owner, fencing_token: m.fencing_token, expires_at_ms: m.expires_at_ms }
    }
}

impl Db {
    /// Takes `resource` for `owner` until `now_ms + ttl_ms`: renews it when
    /// `owner` holds it already (same token), takes it over when it lapsed
    /// (token + 1), creates it when new (token 1). `None`: someone else holds it.
    pub async fn acquire_lease(
        &self,
        resource: &str,
        owner: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Lease>, StorageError> {
        let expires = now_ms.saturating_add(ttl_ms);
        self.lease_tx(|tx| {
            let (resource, owner) = (resource.to_string(), owner.to_string());
            Box::pin(async move {
                let renewed = leases::Entity::update_many()
                    .col_expr(leases::Column::ExpiresAtMs, Expr::value(expires))
                    .filter(leases::Column::Resource.eq(resource.clone()))
                    .filter(leases::Column::Owner.eq(owner.clone()))
                    .filter(leases::Column::ExpiresAtMs.gt(now_ms))
                    .exec(tx)
                    .await?;
                if renewed.rows_affected == 0 {
                    let taken = leases::Entity::update_many()
                        .col_expr(leases::Column::Owner, Expr::value(owner.clone()))
                        .col_expr(leases::Column::FencingToken, Expr::col(leases::Column::FencingToken).add(1))
                        .col_expr(leases::Column::ExpiresAtMs, Expr::value(expires))
                        .filter(leases::Column::Resource.eq(resource.clone()))
                        .filter(leases::Column::ExpiresAtMs.lte(now_ms))
                        .exec(tx)
                        .await?;
                    if taken.rows_affected == 0 {
                        // Held by someone else: no INSERT (a failing one is logged
                        // as an error by PostgreSQL, once per attempt).
                        if leases::Entity::find_by_id(resource.clone()).one(tx).await?.is_some() {
                            return Ok(None);
                        }
                        let row = leases::ActiveModel {
                            resource: Set(resource.clone()),
                            owner: Set(owner.clone()),
                            fencing_token: Set(1),
                            expires_at_ms: Set(expires),
                        };
                        match leases::Entity::insert(row).exec_without_returning(tx).await {
                            Ok(_) => {}
                            Err(e) if is_unique_violation(&e) => return Ok(None),
                            Err(e) => return Err(e),
                        }
                    }
                }
                let row = leases::Entity::find_by_id(resource).one(tx).await?;
                Ok(row.filter(|r| r.owner == owner).map(Lease::from))
            })
        })
        .await
    }

    /// Extends a lease `owner` still holds with `fencing_token`; `None` when
    /// it was lost (taken over after lapsing, or released).
    pub async fn renew_lease(
        &self,
        resource: &str,
        owner: &str,
        fencing_token: i64,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Lease>, StorageError> {
        let done = leases::Entity::update_many()
            .col_expr(leases::Column::ExpiresAtMs, Expr::value(now_ms.saturating_add(ttl_ms)))
            .filter(leases::Column::Resource.eq(resource))
            .filter(leases::Column::Owner.eq(owner))
            .filter(leases::Column::FencingToken.eq(fencing_token))
            .filter(leases::Column::ExpiresAtMs.gt(0))
            .exec(self.conn())
            .await?;
        if done.rows_affected == 0 {
            return Ok(None);
        }
        self.get_lease(resource).await
    }

    /// Gives a lease up (it stays on record, expired); `false` when `owner`
    /// no longer held it with `fencing_token`.
    pub async fn release_lease(&self, resource: &str, owner: &str, fencing_token: i64) -> Result<bool, StorageError> {
        let done = leases::Entity::update_many()
            .col_expr(leases::Column::ExpiresAtMs, Expr::value(0i64))
            .filter(leases::Column::Resource.eq(resource))
            .filter(leases::Column::Owner.eq(owner))
            .filter(leases::Column::FencingToken.eq(fencing_token))
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// A lease as stored (possibly expired).
    pub async fn get_lease(&self, resource: &str) -> Result<Option<Lease>, StorageError> {
        let row = leases::Entity::find_by_id(resource.to_string()).one(self.conn()).await?;
        Ok(row.map(Lease::from))
    }

    /// Leases `owner` holds at `now_ms`, by resource.
    pub async fn leases_of(&self, owner: &str, now_ms: i64) -> Result<Vec<Lease>, StorageError> {
        self.leases_with_prefix(owner, "", now_ms).await
    }

    /// Extends, in one statement, every lease `owner` holds at `now_ms` whose
    /// resource starts with `prefix` (e.g. `"worker/"`) to `now_ms + ttl_ms`,
    /// and returns the leases `owner` holds with that prefix afterwards.
    /// Lapsed ones are not revived (someone may have taken them over): they
    /// are simply missing from the answer, and their holder must re-acquire.
    pub async fn renew_leases_of(
        &self,
        owner: &str,
        prefix: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Lease>, StorageError> {
        leases::Entity::update_many()
            .col_expr(leases::Column::ExpiresAtMs, Expr::value(now_ms.saturating_add(ttl_ms)))
            .filter(leases::Column::Owner.eq(owner))
            .filter(leases::Column::ExpiresAtMs.gt(now_ms))
            .apply_if(starts_with(prefix), QueryFilter::filter)
            .exec(self.conn())
            .await?;
        self.leases_with_prefix(owner, prefix, now_ms).await
    }

    /// Leases `owner` holds at `now_ms` whose resource starts with `prefix`, by resource.
    async fn leases_with_prefix(&self, owner: &str, prefix: &str, now_ms: i64) -> Result<Vec<Lease>, StorageError> {
        let rows = leases::Entity::find()
            .filter(leases::Column::Owner.eq(owner))
            .filter(leases::Column::ExpiresAtMs.gt(now_ms))
            .apply_if(starts_with(prefix), QueryFilter::filter)
            .order_by_asc(leases::Column::Resource)
            .all(self.conn())
            .await?;
        // LIKE may fold case under a case-insensitive collation; the prefix is exact.
        Ok(rows.into_iter().filter(|r| r.resource.starts_with(prefix)).map(Lease::from).collect())
    }

    /// Runs `body` in a transaction, retried when it loses a deadlock.
    async fn lease_tx<F>(&self, body: F) -> Result<Option<Lease>, StorageError>
    where
        F: for<'t> Fn(
            &'t DatabaseTransaction,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<Lease>, DbErr>> + Send + 't>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let tx = self.conn().begin().await?;
            match body(&tx).await {
                Ok(lease) => match tx.commit().await {
                    Ok(()) => return Ok(lease),
                    Err(e) if is_transient(&e) && attempt < TRANSIENT_RETRIES => continue,
                    Err(e) => return Err(e.into()),
                },
                Err(e) => {
                    let _ = tx.rollback().await;
                    if is_transient(&e) && attempt < TRANSIENT_RETRIES {
                        continue;
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

/// `resource LIKE '<prefix>%'` with `prefix` taken literally. `!` escapes
/// rather than backslash, which MySQL string literals would swallow. LIKE
/// rather than a range on `resource`: a linguistic collation (PostgreSQL's
/// default) does not order `worker/…` between `worker/` and `worker0`.
/// `None` for an empty prefix (everything matches).
fn starts_with(prefix: &str) -> Option<SimpleExpr> {
    if prefix.is_empty() {
        return None;
    }
    let mut pattern = String::with_capacity(prefix.len() + 2);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    Some(leases::Column::Resource.like(LikeExpr::new(pattern).escape('!')))
}
