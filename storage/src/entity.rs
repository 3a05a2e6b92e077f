//! sea-orm entities, one module per table. The schema itself is written by
//! [`crate::migration`]; these mirror it column for column.
//!
//! Times are epoch milliseconds (`i64`) and rich values are JSON text, so the
//! three databases store exactly the same thing.

/// `workers`: every registered worker, the full value as JSON.
pub mod workers {
    use sea_orm::entity::prelude::*;

    /// One worker row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "workers")]
    pub struct Model {
        /// Worker id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Display name.
        pub name: String,
        /// JSON of `autoglm_core::Worker`.
        #[sea_orm(column_type = "Text")]
        pub body: String,
        /// Whether the worker takes jobs.
        pub active: bool,
        /// Created, epoch ms.
        pub created_at_ms: i64,
        /// Last changed, epoch ms.
        pub updated_at_ms: i64,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `orders`: every order, the full value as JSON next to indexed columns.
pub mod orders {
    use sea_orm::entity::prelude::*;

    /// One order row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "orders")]
    pub struct Model {
        /// Order id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The customer.
        pub customer_id: String,
        /// The assigned worker, if any.
        pub worker_id: Option<String>,
        /// Lifecycle state, as the API spells it.
        pub state: String,
        /// First 30-minute slot.
        pub start_slot: i64,
        /// Optimistic-lock version.
        pub version: i64,
        /// JSON of `autoglm_core::Order`.
        #[sea_orm(column_type = "Text")]
        pub body: String,
        /// Created, epoch ms.
        pub created_at_ms: i64,
        /// Last changed, epoch ms.
        pub updated_at_ms: i64,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `order_events`: the audit trail, one row per transition.
pub mod order_events {
    use sea_orm::entity::prelude::*;

    /// One event row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_events")]
    pub struct Model {
        /// Sequence number.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The order.
        pub order_id: String,
        /// The order's version after the event.
        pub version: i64,
        /// State before, if there was one.
        pub from_state: Option<String>,
        /// State after.
        pub to_state: String,
        /// What happened.
        pub event: String,
        /// JSON details.
        #[sea_orm(column_type = "Text")]
        pub detail: String,
        /// When, epoch ms.
        pub at_ms: i64,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `reservations`: one row per booked (worker, slot); the primary key is the
/// final arbiter of "no worker booked twice".
pub mod reservations {
    use sea_orm::entity::prelude::*;

    /// One reservation row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reservations")]
    pub struct Model {
        /// The worker.
        #[sea_orm(primary_key, auto_increment = false)]
        pub worker_id: String,
        /// The 30-minute slot.
        #[sea_orm(primary_key, auto_increment = false)]
        pub slot: i64,
        /// The order holding it.
        pub order_id: String,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `payments`: one row per payment attempt.
pub mod payments {
    use sea_orm::entity::prelude::*;

    /// One payment row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payments")]
    pub struct Model {
        /// Payment id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The order paid for.
        pub order_id: String,
        /// Amount in cents.
        pub amount_cents: i64,
        /// ISO 4217 code.
        pub currency: String,
        /// Payment state, as the API spells it.
        pub state: String,
        /// When an unpaid payment lapses, epoch ms.
        pub expires_at_ms: Option<i64>,
        /// Created, epoch ms.
        pub created_at_ms: i64,
        /// Last changed, epoch ms.
        pub updated_at_ms: i64,
        /// When the money arrived, epoch ms.
        pub paid_at_ms: Option<i64>,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `payment_callbacks`: nonces of accepted gateway callbacks (replay protection).
pub mod payment_callbacks {
    use sea_orm::entity::prelude::*;

    /// One callback row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_callbacks")]
    pub struct Model {
        /// The callback's nonce.
        #[sea_orm(primary_key, auto_increment = false)]
        pub nonce: String,
        /// The payment it was about.
        pub payment_id: String,
        /// When it arrived, epoch ms.
        pub received_at_ms: i64,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `idempotency_keys`: `Idempotency-Key` headers already served, per customer.
pub mod idempotency_keys {
    use sea_orm::entity::prelude::*;

    /// One idempotency row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        /// The customer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: String,
        /// The key the client sent.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Hash of the request body, to tell a retry from a different request.
        pub request_hash: String,
        /// The order the request created.
        pub order_id: String,
        /// When, epoch ms.
        pub created_at_ms: i64,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `customer_prefs`: favourite and blocked workers per customer.
pub mod customer_prefs {
    use sea_orm::entity::prelude::*;

    /// One preferences row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_prefs")]
    pub struct Model {
        /// The customer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_id: String,
        /// JSON array of worker ids.
        #[sea_orm(column_type = "Text")]
        pub favourites: String,
        /// JSON array of worker ids.
        #[sea_orm(column_type = "Text")]
        pub blocked: String,
        /// JSON address (`{text, lat, lon}`), when the customer gave one.
        #[sea_orm(column_type = "Text", nullable)]
        pub address: Option<String>,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `leases`: who owns a resource (a worker actor, a job) in the cluster.
pub mod leases {
    use sea_orm::entity::prelude::*;

    /// One lease row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "leases")]
    pub struct Model {
        /// What is leased.
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource: String,
        /// The node holding it.
        pub owner: String,
        /// Bumped on every change of holder; stale holders are fenced off by it.
        pub fencing_token: i64,
        /// When the lease lapses unless renewed, epoch ms.
        pub expires_at_ms: i64,
    }

    /// No relations are declared; joins are written where needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
