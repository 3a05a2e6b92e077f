//! Inbox counting through `Tracked`, and `Inspect` publishing.

use autoglm_supervisor::{Inspect, Registry, Tracked};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::{json, Value};
use tokio::sync::oneshot;

enum GateMsg {
    Hold(oneshot::Receiver<()>),
    Noop,
    Ping(RpcReplyPort<()>),
}

impl ractor::Message for GateMsg {}

/// Blocks on `Hold` until released, so messages pile up behind it.
struct Gate;

impl Actor for Gate {
    type Msg = GateMsg;
    type State = autoglm_supervisor::Inbox;
    type Arguments = autoglm_supervisor::Inbox;

    async fn pre_start(
        &self,
        _myself: ActorRef<GateMsg>,
        inbox: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(inbox)
    }

    async fn handle(
        &self,
        _myself: ActorRef<GateMsg>,
        msg: GateMsg,
        inbox: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        inbox.dequeued();
        match msg {
            GateMsg::Hold(release) => {
                let _ = release.await;
            }
            GateMsg::Noop => {}
            GateMsg::Ping(reply) => {
                let _ = reply.send(());
            }
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn tracked_sends_show_up_as_mailbox_length() {
    let registry = Registry::new("n1");
    let probe = registry.register("gate", "g1", None);
    let (actor, _) = Actor::spawn(None, Gate, probe.inbox()).await.expect("spawns");
    let gate: Tracked<GateMsg> = probe.tracked(actor);

    let (release, held) = oneshot::channel();
    gate.cast(GateMsg::Hold(held)).expect("alive");
    for _ in 0..3 {
        gate.cast(GateMsg::Noop).expect("alive");
    }
    // Nothing ran yet on this single-threaded runtime: all four are queued.
    assert_eq!(registry.get("gate/g1").map(|s| s.mailbox_len), Some(4));

    let _ = release.send(());
    gate.call(GateMsg::Ping, Some(std::time::Duration::from_secs(5))).await.expect("answers");
    assert_eq!(registry.get("gate/g1").map(|s| s.mailbox_len), Some(0));

    actor_stop(&gate).await;
    assert!(gate.cast(GateMsg::Noop).is_err());
    assert_eq!(gate.inbox.len(), 0, "a failed send is not counted");
}

async fn actor_stop(gate: &Tracked<GateMsg>) {
    gate.actor.stop_and_wait(None, Some(std::time::Duration::from_secs(5))).await.expect("stops");
}

struct Order {
    state: &'static str,
    worker: Option<&'static str>,
}

impl Inspect for Order {
    fn kind(&self) -> &'static str {
        "order"
    }
    fn snapshot_state(&self) -> String {
        self.state.to_string()
    }
    fn snapshot_fields(&self) -> Value {
        json!({ "worker": self.worker })
    }
}

#[test]
fn publish_from_inspect_and_deregister() {
    let registry = Registry::new("n1");
    let order = Order { state: "confirmed", worker: Some("W17") };
    let probe = registry.register(order.kind(), "A1023", None);
    probe.publish_from(&order);
    let snap = registry.get("order/A1023").expect("registered");
    assert_eq!(snap.state, "confirmed");
    assert_eq!(snap.fields["worker"], "W17");
    assert_eq!(snap.restarts, 0);
    let keep = probe.clone();
    probe.deregister();
    assert!(registry.is_empty());
    drop(keep);
    assert!(registry.is_empty());
    let text = serde_json::to_string(&snap).expect("serializes");
    assert!(text.contains("\"mailbox_len\":0"));
}
