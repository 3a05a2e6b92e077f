//! The schema, as sea-orm-migration migrations; identical on SQLite,
//! PostgreSQL and MariaDB/MySQL.
//!
//! Migrations are frozen once released: a schema change is a new migration
//! appended to [`Migrator::migrations`], never an edit of an old one.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

/// Runs every migration of the storage schema.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(Initial), Box::new(CustomerAddress)]
    }
}

/// The first schema: orders, events, workers, reservations, payments,
/// callbacks, idempotency keys, preferences and leases.
struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m20260301_000001_initial"
    }
}

/// Longest id the domain allows.
const ID_LEN: u32 = 64;

fn id_col(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).string_len(ID_LEN).not_null().to_owned()
}

fn i64_col(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

fn text_col(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

/// `CREATE TABLE IF NOT EXISTS`, with byte-wise comparison of text on MySQL so
/// that ids are case-sensitive there as everywhere else.
fn table(name: impl IntoIden + 'static, backend: DbBackend) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name).if_not_exists();
    if backend == DbBackend::MySql {
        t.engine("InnoDB").character_set("utf8mb4").collate("utf8mb4_bin");
    }
    t
}

fn index(name: &str, table: impl IntoIden + 'static, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = m.get_database_backend();
        m.create_table(
            table(Workers::Table, b)
                .col(id_col(Workers::Id).primary_key())
                .col(ColumnDef::new(Workers::Name).string_len(128).not_null())
                .col(text_col(Workers::Body))
                .col(ColumnDef::new(Workers::Active).boolean().not_null())
                .col(i64_col(Workers::CreatedAtMs))
                .col(i64_col(Workers::UpdatedAtMs))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Orders::Table, b)
                .col(id_col(Orders::Id).primary_key())
                .col(id_col(Orders::CustomerId))
                .col(ColumnDef::new(Orders::WorkerId).string_len(ID_LEN).null())
                .col(ColumnDef::new(Orders::State).string_len(32).not_null())
                .col(i64_col(Orders::StartSlot))
                .col(i64_col(Orders::Version))
                .col(text_col(Orders::Body))
                .col(i64_col(Orders::CreatedAtMs))
                .col(i64_col(Orders::UpdatedAtMs))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_orders_customer", Orders::Table, &["customer_id", "created_at_ms"])).await?;
        m.create_index(index("idx_orders_worker", Orders::Table, &["worker_id", "start_slot"])).await?;
        m.create_index(index("idx_orders_state", Orders::Table, &["state"])).await?;

        m.create_table(
            table(OrderEvents::Table, b)
                .col(ColumnDef::new(OrderEvents::Id).big_integer().not_null().auto_increment().primary_key())
                .col(id_col(OrderEvents::OrderId))
                .col(i64_col(OrderEvents::Version))
                .col(ColumnDef::new(OrderEvents::FromState).string_len(32).null())
                .col(ColumnDef::new(OrderEvents::ToState).string_len(32).not_null())
                .col(ColumnDef::new(OrderEvents::Event).string_len(64).not_null())
                .col(text_col(OrderEvents::Detail))
                .col(i64_col(OrderEvents::AtMs))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_order_events_order", OrderEvents::Table, &["order_id", "version"])).await?;

        m.create_table(
            table(Reservations::Table, b)
                .col(id_col(Reservations::WorkerId))
                .col(i64_col(Reservations::Slot))
                .col(id_col(Reservations::OrderId))
                .primary_key(Index::create().col(Reservations::WorkerId).col(Reservations::Slot))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_reservations_order", Reservations::Table, &["order_id"])).await?;

        m.create_table(
            table(Payments::Table, b)
                .col(id_col(Payments::Id).primary_key())
                .col(id_col(Payments::OrderId))
                .col(i64_col(Payments::AmountCents))
                .col(ColumnDef::new(Payments::Currency).string_len(8).not_null())
                .col(ColumnDef::new(Payments::State).string_len(16).not_null())
                .col(ColumnDef::new(Payments::ExpiresAtMs).big_integer().null())
                .col(i64_col(Payments::CreatedAtMs))
                .col(i64_col(Payments::UpdatedAtMs))
                .col(ColumnDef::new(Payments::PaidAtMs).big_integer().null())
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_payments_order", Payments::Table, &["order_id"])).await?;
        m.create_index(index("idx_payments_state", Payments::Table, &["state"])).await?;

        m.create_table(
            table(PaymentCallbacks::Table, b)
                .col(id_col(PaymentCallbacks::Nonce).primary_key())
                .col(id_col(PaymentCallbacks::PaymentId))
                .col(i64_col(PaymentCallbacks::ReceivedAtMs))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(IdempotencyKeys::Table, b)
                .col(id_col(IdempotencyKeys::CustomerId))
                .col(ColumnDef::new(IdempotencyKeys::Key).string_len(128).not_null())
                .col(ColumnDef::new(IdempotencyKeys::RequestHash).string_len(128).not_null())
                .col(id_col(IdempotencyKeys::OrderId))
                .col(i64_col(IdempotencyKeys::CreatedAtMs))
                .primary_key(Index::create().col(IdempotencyKeys::CustomerId).col(IdempotencyKeys::Key))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(CustomerPrefs::Table, b)
                .col(id_col(CustomerPrefs::CustomerId).primary_key())
                .col(text_col(CustomerPrefs::Favourites))
                .col(text_col(CustomerPrefs::Blocked))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Leases::Table, b)
                .col(ColumnDef::new(Leases::Resource).string_len(128).not_null().primary_key())
                .col(ColumnDef::new(Leases::Owner).string_len(128).not_null())
                .col(i64_col(Leases::FencingToken))
                .col(i64_col(Leases::ExpiresAtMs))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Workers {
    Table,
    Id,
    Name,
    Body,
    Active,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    CustomerId,
    WorkerId,
    State,
    StartSlot,
    Version,
    Body,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    Version,
    FromState,
    ToState,
    Event,
    Detail,
    AtMs,
}

#[derive(DeriveIden)]
enum Reservations {
    Table,
    WorkerId,
    Slot,
    OrderId,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrderId,
    AmountCents,
    Currency,
    State,
    ExpiresAtMs,
    CreatedAtMs,
    UpdatedAtMs,
    PaidAtMs,
}

#[derive(DeriveIden)]
enum PaymentCallbacks {
    Table,
    Nonce,
    PaymentId,
    ReceivedAtMs,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    CustomerId,
    Key,
    RequestHash,
    OrderId,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum CustomerPrefs {
    Table,
    CustomerId,
    Favourites,
    Blocked,
    Address,
}

/// The customer's address on the profile (JSON `{text, lat, lon}`, nullable).
struct CustomerAddress;

impl MigrationName for CustomerAddress {
    fn name(&self) -> &str {
        "m20261130_000002_customer_address"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CustomerAddress {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.has_column("customer_prefs", "address").await? {
            return Ok(());
        }
        m.alter_table(
            Table::alter()
                .table(CustomerPrefs::Table)
                .add_column(ColumnDef::new(CustomerPrefs::Address).text().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(CustomerPrefs::Table).drop_column(CustomerPrefs::Address).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Resource,
    Owner,
    FencingToken,
    ExpiresAtMs,
}
