//! Supervision behaviour with paused time: restarts, backoff, intensity,
//! strategies and the registry view of it all. Tests wait on events with a
//! timeout; they never sleep to wait for something.

use std::time::Duration;

use autoglm_supervisor::{
    ChildSpec, Probe, Registry, Restart, RestartPolicy, Strategy, SupervisorArgs, SupervisorHandle,
};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use serde_json::json;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::{timeout, Instant};

const WAIT: Duration = Duration::from_secs(5);

/// What the test children report.
#[derive(Debug)]
struct Started {
    id: String,
    attempt: u32,
    at: Instant,
}

enum ChildMsg {
    Fail,
    Panic,
    Stop,
    Publish(String),
    Attempt(RpcReplyPort<u32>),
}

impl ractor::Message for ChildMsg {}

struct TestChild;

struct ChildArgs {
    id: String,
    attempt: u32,
    probe: Probe,
    fail_after_start: bool,
    events: UnboundedSender<Started>,
}

struct ChildState {
    attempt: u32,
    probe: Probe,
    fail_after_start: bool,
}

impl Actor for TestChild {
    type Msg = ChildMsg;
    type State = ChildState;
    type Arguments = ChildArgs;

    async fn pre_start(&self, _myself: ActorRef<ChildMsg>, args: ChildArgs) -> Result<ChildState, ActorProcessingErr> {
        let _ = args.events.send(Started { id: args.id, attempt: args.attempt, at: Instant::now() });
        Ok(ChildState { attempt: args.attempt, probe: args.probe, fail_after_start: args.fail_after_start })
    }

    async fn post_start(&self, _myself: ActorRef<ChildMsg>, state: &mut ChildState) -> Result<(), ActorProcessingErr> {
        if state.fail_after_start {
            return Err("cannot rehydrate".into());
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<ChildMsg>,
        msg: ChildMsg,
        state: &mut ChildState,
    ) -> Result<(), ActorProcessingErr> {
        state.probe.inbox().dequeued();
        match msg {
            ChildMsg::Fail => return Err("boom".into()),
            ChildMsg::Panic => panic!("broken invariant"),
            ChildMsg::Stop => myself.stop(None),
            ChildMsg::Publish(s) => state.probe.publish(&s, json!({ "attempt": state.attempt })),
            ChildMsg::Attempt(reply) => {
                let _ = reply.send(state.attempt);
            }
        }
        Ok(())
    }
}

fn spec(id: &str, restart: Restart, fail_after_start: bool, events: &UnboundedSender<Started>) -> ChildSpec {
    let events = events.clone();
    let child_id = id.to_string();
    ChildSpec::new("test", id, restart, move |ctx| {
        let args = ChildArgs {
            id: child_id.clone(),
            attempt: ctx.attempt,
            probe: ctx.probe,
            fail_after_start,
            events: events.clone(),
        };
        async move {
            let (actor, _) = Actor::spawn_linked(None, TestChild, args, ctx.supervisor).await?;
            Ok(actor.get_cell())
        }
    })
}

async fn supervisor(
    registry: &Registry,
    policy: RestartPolicy,
) -> (SupervisorHandle, UnboundedSender<Started>, UnboundedReceiver<Started>) {
    let args = SupervisorArgs::new("tests", "test", registry.clone()).with_policy(policy);
    let (handle, _) = SupervisorHandle::spawn(args).await.expect("supervisor starts");
    let (tx, rx) = unbounded_channel();
    (handle, tx, rx)
}

async fn next(rx: &mut UnboundedReceiver<Started>) -> Started {
    timeout(WAIT, rx.recv()).await.expect("child start within the wait").expect("event channel open")
}

fn child_ref(cell: &ActorCell) -> ActorRef<ChildMsg> {
    ActorRef::from(cell.clone())
}

async fn attempt_of(cell: &ActorCell) -> u32 {
    ractor::call!(child_ref(cell), ChildMsg::Attempt).expect("child answers")
}

/// Fail the child with `msg` and check it comes back as a new, rehydrated actor.
async fn assert_restarted_after(msg: ChildMsg) {
    let registry = Registry::new("n1");
    let (sup, tx, mut rx) = supervisor(&registry, RestartPolicy::default()).await;
    let first = sup.start_child(spec("c1", Restart::Permanent, false, &tx)).await.expect("child starts");
    assert_eq!(next(&mut rx).await.attempt, 0);

    child_ref(&first).cast(msg).expect("child alive");
    let again = next(&mut rx).await;
    assert_eq!((again.id.as_str(), again.attempt), ("c1", 1));

    let children = sup.children().await.expect("supervisor alive");
    assert_eq!(children[0].restarts, 1);
    assert!(children[0].alive);
    let second = sup.lookup("c1").expect("restarted child is live");
    assert_ne!(second.get_id(), first.get_id());
    assert_eq!(attempt_of(&second).await, 1);
    let snap = registry.get("test/c1").expect("child registered");
    assert_eq!((snap.restarts, snap.state.as_str()), (1, "running"));
    sup.shutdown(WAIT).await;
    assert!(registry.is_empty(), "shutdown deregisters everything");
}

#[tokio::test(start_paused = true)]
async fn failing_child_is_restarted_and_rehydrates() {
    assert_restarted_after(ChildMsg::Fail).await;
}

#[tokio::test(start_paused = true)]
async fn panicking_child_is_restarted() {
    assert_restarted_after(ChildMsg::Panic).await;
}

#[tokio::test(start_paused = true)]
async fn transient_child_stopping_normally_is_gone() {
    let registry = Registry::new("n1");
    let (sup, tx, mut rx) = supervisor(&registry, RestartPolicy::default()).await;
    let cell = sup.start_child(spec("t1", Restart::Transient, false, &tx)).await.expect("child starts");
    next(&mut rx).await;
    assert!(registry.get("test/t1").is_some());

    child_ref(&cell).cast(ChildMsg::Stop).expect("child alive");
    cell.wait(Some(WAIT)).await.expect("child stops");
    // Supervision events outrank messages, so this answer comes after the exit was handled.
    assert!(sup.children().await.expect("supervisor alive").is_empty());
    assert!(sup.lookup("t1").is_none());
    assert_eq!(sup.live_count(), 0);
    assert!(registry.get("test/t1").is_none());
    assert!(timeout(Duration::from_secs(2), rx.recv()).await.is_err(), "not restarted");
}

#[tokio::test(start_paused = true)]
async fn transient_child_failing_is_restarted_and_temporary_is_not() {
    let registry = Registry::new("n1");
    let (sup, tx, mut rx) = supervisor(&registry, RestartPolicy::default()).await;
    let transient = sup.start_child(spec("t", Restart::Transient, false, &tx)).await.expect("starts");
    let temporary = sup.start_child(spec("tmp", Restart::Temporary, false, &tx)).await.expect("starts");
    next(&mut rx).await;
    next(&mut rx).await;

    child_ref(&temporary).cast(ChildMsg::Fail).expect("alive");
    child_ref(&transient).cast(ChildMsg::Fail).expect("alive");
    let again = next(&mut rx).await;
    assert_eq!((again.id.as_str(), again.attempt), ("t", 1));
    let ids: Vec<String> = sup.children().await.expect("alive").into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["t"]);
    assert!(registry.get("test/tmp").is_none());
}

#[tokio::test(start_paused = true)]
async fn restart_waits_for_a_growing_backoff() {
    let registry = Registry::new("n1");
    let (sup, tx, mut rx) = supervisor(&registry, RestartPolicy::default()).await;
    sup.start_child(spec("c", Restart::Permanent, false, &tx)).await.expect("starts");
    next(&mut rx).await;

    for (attempt, backoff_ms) in [(1, 10), (2, 20), (3, 40)] {
        let cell = sup.lookup("c").expect("live");
        child_ref(&cell).cast(ChildMsg::Fail).expect("alive");
        let early = timeout(Duration::from_millis(backoff_ms - 1), rx.recv()).await;
        assert!(early.is_err(), "restart {attempt} came before its {backoff_ms} ms backoff");
        let on_time = timeout(Duration::from_millis(5), rx.recv()).await;
        let started = on_time.expect("restart right after the backoff").expect("open");
        assert_eq!(started.attempt, attempt);
        sup.children().await.expect("alive");
        let state = registry.get("test/c").expect("registered");
        assert_eq!(state.restarts, attempt);
    }
}

/// Forwards its children's supervision events to the test.
struct Parent;

impl Actor for Parent {
    type Msg = ();
    type State = UnboundedSender<String>;
    type Arguments = UnboundedSender<String>;

    async fn pre_start(
        &self,
        _myself: ActorRef<()>,
        events: UnboundedSender<String>,
    ) -> Result<UnboundedSender<String>, ActorProcessingErr> {
        Ok(events)
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<()>,
        event: SupervisionEvent,
        events: &mut UnboundedSender<String>,
    ) -> Result<(), ActorProcessingErr> {
        let line = match event {
            SupervisionEvent::ActorFailed(_, err) => format!("failed: {err}"),
            SupervisionEvent::ActorTerminated(_, _, reason) => format!("terminated: {reason:?}"),
            _ => return Ok(()),
        };
        let _ = events.send(line);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn too_many_restarts_make_the_supervisor_give_up_to_its_parent() {
    let registry = Registry::new("n1");
    let (parent_tx, mut parent_rx) = unbounded_channel();
    let (parent, _) = Actor::spawn(None, Parent, parent_tx).await.expect("parent");
    let policy = RestartPolicy { max_restarts: 3, ..RestartPolicy::default() };
    let args = SupervisorArgs::new("orders", "test", registry.clone()).with_policy(policy);
    let (sup, join) = SupervisorHandle::spawn_linked(args, parent.get_cell()).await.expect("supervisor starts");
    let (tx, mut rx) = unbounded_channel();
    sup.start_child(spec("doomed", Restart::Permanent, true, &tx))
        .await
        .expect("first start succeeds; the failure comes after");

    let mut starts = Vec::new();
    for _ in 0..4 {
        starts.push(next(&mut rx).await);
    }
    let attempts: Vec<u32> = starts.iter().map(|s| s.attempt).collect();
    assert_eq!(attempts, [0, 1, 2, 3]);
    let gaps: Vec<u128> = starts.windows(2).map(|w| (w[1].at - w[0].at).as_millis()).collect();
    assert_eq!(gaps, [10, 20, 40], "backoff doubles");

    let event = timeout(WAIT, parent_rx.recv()).await.expect("parent hears").expect("open");
    assert!(event.starts_with("failed: supervisor orders gave up after 4 failures"), "{event}");
    timeout(WAIT, join).await.expect("supervisor exits").expect("joins");
    assert!(timeout(Duration::from_secs(2), rx.recv()).await.ok().flatten().is_none());
    assert!(registry.is_empty(), "{:?}", registry.tree());
    assert!(sup.start_child(spec("x", Restart::Permanent, false, &tx)).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn rest_for_one_restarts_younger_siblings_only() {
    let registry = Registry::new("n1");
    let policy = RestartPolicy { strategy: Strategy::RestForOne, ..RestartPolicy::default() };
    let (sup, tx, mut rx) = supervisor(&registry, policy).await;
    let mut cells = Vec::new();
    for id in ["a", "b", "c"] {
        let cell = sup.start_child(spec(id, Restart::Permanent, false, &tx)).await.expect("starts");
        cells.push(cell);
        next(&mut rx).await;
    }

    child_ref(&cells[1]).cast(ChildMsg::Fail).expect("alive");
    let first = next(&mut rx).await;
    let second = next(&mut rx).await;
    assert_eq!([(first.id.as_str(), first.attempt), (second.id.as_str(), second.attempt)], [("b", 1), ("c", 1)]);
    let restarts: Vec<(String, u32)> =
        sup.children().await.expect("alive").into_iter().map(|c| (c.id, c.restarts)).collect();
    assert_eq!(restarts, [("a".into(), 0), ("b".into(), 1), ("c".into(), 1)]);
    let same = |id: &str, cell: &ActorCell| sup.lookup(id).map(|c| c.get_id()) == Some(cell.get_id());
    assert!(same("a", &cells[0]));
    assert!(!same("b", &cells[1]));
    assert!(!same("c", &cells[2]));
    assert!(cells[2].wait(Some(WAIT)).await.is_ok(), "old c was stopped");
}

#[tokio::test(start_paused = true)]
async fn start_child_twice_returns_the_live_actor() {
    let registry = Registry::new("n1");
    let (sup, tx, mut rx) = supervisor(&registry, RestartPolicy::default()).await;
    let one = sup.start_child(spec("same", Restart::Transient, false, &tx)).await.expect("starts");
    // Through the supervisor itself, not the handle's lookup fast path.
    let spec_again = spec("same", Restart::Transient, false, &tx);
    let two = ractor::call!(sup.actor, autoglm_supervisor::SupervisorMsg::StartChild, spec_again)
        .expect("supervisor answers")
        .expect("get or start");
    let three = sup.start_child(spec("same", Restart::Transient, false, &tx)).await.expect("lookup");
    assert_eq!(one.get_id(), two.get_id());
    assert_eq!(one.get_id(), three.get_id());
    next(&mut rx).await;
    assert!(timeout(Duration::from_secs(1), rx.recv()).await.is_err(), "started once");
    assert_eq!(sup.live_count(), 1);

    sup.stop_child("same").await.expect("supervisor alive");
    assert!(sup.lookup("same").is_none());
    let four = sup.start_child(spec("same", Restart::Transient, false, &tx)).await.expect("starts anew");
    assert_ne!(one.get_id(), four.get_id());
    assert_eq!(next(&mut rx).await.attempt, 0);
}

#[tokio::test(start_paused = true)]
async fn registry_tree_nests_children_and_shows_publishes() {
    let registry = Registry::new("node-a");
    let args = SupervisorArgs::new("orders", "test", registry.clone()).with_parent_key("supervisor/root");
    let root = registry.register("supervisor", "root", None);
    let (sup, _) = SupervisorHandle::spawn(args).await.expect("starts");
    let (tx, mut rx) = unbounded_channel();
    for id in ["o2", "o1"] {
        sup.start_child(spec(id, Restart::Transient, false, &tx)).await.expect("starts");
        next(&mut rx).await;
    }
    let o1 = sup.lookup("o1").expect("live");
    child_ref(&o1).cast(ChildMsg::Publish("negotiating".into())).expect("alive");
    sup.children().await.expect("alive");
    assert_eq!(attempt_of(&o1).await, 0);

    let tree = registry.tree();
    assert_eq!(tree.len(), 1);
    assert_eq!((tree[0].kind.as_str(), tree[0].id.as_str()), ("supervisor", "root"));
    let orders = &tree[0].children[0];
    assert_eq!(orders.id, "orders");
    assert_eq!(orders.node, "node-a");
    assert_eq!(orders.fields["live"], 2);
    let kids: Vec<(&str, &str)> = orders.children.iter().map(|c| (c.id.as_str(), c.state.as_str())).collect();
    assert_eq!(kids, [("o1", "negotiating"), ("o2", "running")]);
    assert_eq!(orders.children[0].fields, json!({ "attempt": 0 }));
    assert_eq!(registry.count_by_kind().get("test"), Some(&2));
    drop(root);
    assert_eq!(registry.tree().len(), 1, "orphans become roots");
}
