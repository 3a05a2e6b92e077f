//! Killing actors mid-negotiation: the supervisor restarts them, they
//! rehydrate from the database and carry on; nothing is lost or double-booked.

mod common;

use autoglm_actors::groups::group_name;
use autoglm_actors::worker_actor::WorkerMsg;
use autoglm_core::{CustomerId, OrderState, Service};
use autoglm_storage::testing::fresh_sqlite;
use common::*;
use ractor::{Actor, ActorProcessingErr, ActorRef};

/// A group member that takes calls for proposals and never answers, so a
/// negotiation waits for its full bid deadline.
struct Silent;

impl Actor for Silent {
    type Msg = WorkerMsg;
    type State = Vec<WorkerMsg>;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<WorkerMsg>, _: ()) -> Result<Vec<WorkerMsg>, ActorProcessingErr> {
        Ok(Vec::new())
    }

    async fn handle(
        &self,
        _: ActorRef<WorkerMsg>,
        msg: WorkerMsg,
        held: &mut Vec<WorkerMsg>,
    ) -> Result<(), ActorProcessingErr> {
        held.push(msg); // keep the reply port open
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_comes_back_with_its_calendar() {
    let db = fresh_sqlite().await;
    let e = engine(db.clone(), quick_config()).await;
    e.register_worker(worker("W1", Service::Cleaning, 5, 0.5)).await.unwrap_or_else(|e| panic!("{e}"));
    e.register_worker(worker("W2", Service::Cleaning, 1, 3.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let start = day_at(&e, 2, 10, 0);
    let (a, _) = e
        .create_order(&CustomerId::from("C1"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.worker.as_ref().map(|w| w.id.as_str()), Some("W1"));

    let old = e.shared().workers.lookup("W1").unwrap_or_else(|| panic!("W1 not live"));
    old.kill();
    let registry = e.registry().clone();
    eventually("W1 restarted", || {
        registry.get("worker/W1").is_some_and(|s| s.restarts >= 1)
            && e.shared().workers.lookup("W1").is_some_and(|c| c.get_id() != old.get_id())
    })
    .await;

    // The restarted W1 remembers order A from the database, so B goes to W2 and C finds nobody.
    let (b, _) = e
        .create_order(&CustomerId::from("C2"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.worker.as_ref().map(|w| w.id.as_str()), Some("W2"));
    let (c, _) = e
        .create_order(&CustomerId::from("C3"), request(Service::Cleaning, start, 120), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.state, OrderState::Unassignable);
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_order_resumes_its_negotiation() {
    let db = fresh_sqlite().await;
    let mut cfg = quick_config();
    cfg.dispatch.bid_deadline_ms = 1500;
    let e = engine(db.clone(), cfg).await;
    e.register_worker(worker("W1", Service::ElderlyCare, 4, 1.0)).await.unwrap_or_else(|e| panic!("{e}"));
    let (silent, _) = Actor::spawn(None, Silent, ()).await.unwrap_or_else(|e| panic!("{e}"));
    ractor::pg::join_scoped(
        e.shared().scope.clone(),
        group_name(Service::ElderlyCare, PLACE.cell()),
        vec![silent.get_cell()],
    );

    let placing = {
        let e = e.clone();
        tokio::spawn(async move {
            let start = day_at(&e, 2, 9, 0);
            e.create_order(&CustomerId::from("C1"), request(Service::ElderlyCare, start, 240), None).await
        })
    };
    // While the order waits for the silent member's bid, kill its actor.
    let registry = e.registry().clone();
    eventually("the order actor to negotiate", || registry.by_kind("order").iter().any(|s| s.state == "negotiating"))
        .await;
    let id = registry.by_kind("order")[0].id.clone();
    let cell = e.shared().orders.lookup(&id).unwrap_or_else(|| panic!("order actor not live"));
    cell.kill();

    let (order, created) = placing.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    assert!(created);
    assert_eq!(order.state, OrderState::AwaitingPayment, "the restarted actor finished the negotiation");
    assert_eq!(order.worker.as_ref().map(|w| w.id.as_str()), Some("W1"));
    let snap = registry.get(&format!("order/{id}")).unwrap_or_else(|| panic!("order actor gone"));
    assert!(snap.restarts >= 1, "{snap:?}");
    let report = e.check_invariants().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean(), "{report:?}");
    silent.stop(None);
}
