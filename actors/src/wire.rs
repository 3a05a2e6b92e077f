//! How actor messages cross nodes (ractor_cluster).
//!
//! A worker actor may live on another node: an order's call for proposals,
//! award, confirm, release and request for other times then travel as
//! [`SerializedMessage`]s, their arguments as JSON. Messages that only make
//! sense locally (timers, profile updates, drills) refuse to serialize, so
//! sending one to a remote actor fails at the sender.
//!
//! A remote call's reply comes back as bytes; [`bytes_port`] and
//! [`typed_port`] bridge between the typed reply port the caller holds and the
//! byte port the wire uses, each waiting at most the caller's timeout (or
//! [`REMOTE_REPLY_TIMEOUT`]).

use crate::worker_actor::WorkerMsg;
use ractor::message::{BoxedDowncastErr, SerializedMessage};
use ractor::RpcReplyPort;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// Longest wait for a remote reply when the caller set no timeout.
pub const REMOTE_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// JSON of `value`; failing to encode is a downcast error for ractor.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxedDowncastErr> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "could not encode a message for a remote actor");
        BoxedDowncastErr
    })
}

/// The value in `bytes`; anything malformed from a peer is refused, not trusted.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxedDowncastErr> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::warn!(error = %e, "malformed message from a remote node");
        BoxedDowncastErr
    })
}

/// Sender side: a byte port whose answer is decoded into `typed`.
pub fn bytes_port<T: DeserializeOwned + Send + 'static>(typed: RpcReplyPort<T>) -> RpcReplyPort<Vec<u8>> {
    let (tx, rx) = ractor::concurrency::oneshot::<Vec<u8>>();
    let wait = typed.get_timeout().unwrap_or(REMOTE_REPLY_TIMEOUT);
    tokio::spawn(async move {
        if let Ok(Ok(bytes)) = tokio::time::timeout(wait, rx).await {
            if let Ok(value) = decode::<T>(&bytes) {
                let _ = typed.send(value);
            }
        }
    });
    RpcReplyPort::from((tx, wait))
}

/// Receiver side: a typed port whose answer is encoded onto `bytes`.
pub fn typed_port<T: Serialize + Send + 'static>(bytes: RpcReplyPort<Vec<u8>>) -> RpcReplyPort<T> {
    let (tx, rx) = ractor::concurrency::oneshot::<T>();
    let wait = bytes.get_timeout().unwrap_or(REMOTE_REPLY_TIMEOUT);
    tokio::spawn(async move {
        if let Ok(Ok(value)) = tokio::time::timeout(wait, rx).await {
            if let Ok(b) = encode(&value) {
                let _ = bytes.send(b);
            }
        }
    });
    RpcReplyPort::from((tx, wait))
}

fn cast(variant: &str, args: Vec<u8>) -> SerializedMessage {
    SerializedMessage::Cast { variant: variant.into(), args, metadata: None }
}

fn call(variant: &str, args: Vec<u8>, reply: RpcReplyPort<Vec<u8>>) -> SerializedMessage {
    SerializedMessage::Call { variant: variant.into(), args, reply, metadata: None }
}

impl ractor::Message for WorkerMsg {
    fn serializable() -> bool {
        true
    }

    fn serialize(self) -> Result<SerializedMessage, BoxedDowncastErr> {
        Ok(match self {
            WorkerMsg::Cfp(cfp, reply) => call("cfp", encode(&*cfp)?, bytes_port(reply)),
            WorkerMsg::Award { order, range, reply } => call("award", encode(&(order, range))?, bytes_port(reply)),
            WorkerMsg::Confirm { order, range } => cast("confirm", encode(&(order, range))?),
            WorkerMsg::Release { order } => cast("release", encode(&order)?),
            WorkerMsg::Suggest { order, from, len, reply } => {
                call("suggest", encode(&(order, from, len))?, bytes_port(reply))
            }
            // Timers, profile updates and drills never leave their node.
            WorkerMsg::ExpireHolds | WorkerMsg::Update(_) | WorkerMsg::IdleCheck(_) | WorkerMsg::Fail(_) => {
                return Err(BoxedDowncastErr)
            }
        })
    }

    fn deserialize(msg: SerializedMessage) -> Result<Self, BoxedDowncastErr> {
        match msg {
            SerializedMessage::Call { variant, args, reply, .. } => match variant.as_str() {
                "cfp" => Ok(WorkerMsg::Cfp(std::sync::Arc::new(decode(&args)?), typed_port(reply))),
                "award" => {
                    let (order, range) = decode(&args)?;
                    Ok(WorkerMsg::Award { order, range, reply: typed_port(reply) })
                }
                "suggest" => {
                    let (order, from, len) = decode(&args)?;
                    Ok(WorkerMsg::Suggest { order, from, len, reply: typed_port(reply) })
                }
                _ => Err(BoxedDowncastErr),
            },
            SerializedMessage::Cast { variant, args, .. } => match variant.as_str() {
                "confirm" => {
                    let (order, range) = decode(&args)?;
                    Ok(WorkerMsg::Confirm { order, range })
                }
                "release" => Ok(WorkerMsg::Release { order: decode(&args)? }),
                _ => Err(BoxedDowncastErr),
            },
            SerializedMessage::CallReply(..) => Err(BoxedDowncastErr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autoglm_core::dispatch::CallForProposals;
    use autoglm_core::{GeoPoint, OrderId, Service, Slot, SlotRange};
    use ractor::Message;

    fn cfp() -> CallForProposals {
        CallForProposals {
            order: OrderId("A1".into()),
            service: Service::Cleaning,
            place: GeoPoint { lat: 31.2, lon: 121.4 },
            range: SlotRange { start: Slot(10), end: Slot(14) },
            favourites: vec!["W2".into()],
            excluded: vec![],
            radius_factor: 1.0,
        }
    }

    #[tokio::test]
    async fn a_call_for_proposals_and_its_bid_cross_the_wire() {
        let (tx, rx) = ractor::concurrency::oneshot();
        let wire = WorkerMsg::Cfp(std::sync::Arc::new(cfp()), tx.into()).serialize().expect("serializes");
        // The other node decodes it and its worker answers on the typed port.
        let WorkerMsg::Cfp(got, reply) = WorkerMsg::deserialize(wire).expect("deserializes") else {
            panic!("not a cfp")
        };
        assert_eq!(*got, cfp());
        reply.send(None).expect("reply");
        assert_eq!(rx.await.expect("answer arrives"), None::<autoglm_core::Bid>);
    }

    #[tokio::test]
    async fn award_and_release_round_trip() {
        let (tx, rx) = ractor::concurrency::oneshot();
        let range = SlotRange { start: Slot(1), end: Slot(3) };
        let wire = WorkerMsg::Award { order: "A9".into(), range, reply: tx.into() }.serialize().expect("serializes");
        let WorkerMsg::Award { order, range: r, reply } = WorkerMsg::deserialize(wire).expect("deserializes") else {
            panic!("not an award")
        };
        assert_eq!((order.as_str(), r), ("A9", range));
        reply.send(Err("busy".into())).expect("reply");
        assert_eq!(rx.await.expect("answer"), Err("busy".to_string()));

        let wire = WorkerMsg::Release { order: "A9".into() }.serialize().expect("serializes");
        assert!(matches!(WorkerMsg::deserialize(wire), Ok(WorkerMsg::Release { order }) if order.as_str() == "A9"));
    }

    #[test]
    fn local_only_messages_and_garbage_are_refused() {
        assert!(WorkerMsg::IdleCheck(1).serialize().is_err());
        assert!(WorkerMsg::Fail("x".into()).serialize().is_err());
        let junk = SerializedMessage::Cast { variant: "confirm".into(), args: b"{not json".to_vec(), metadata: None };
        assert!(WorkerMsg::deserialize(junk).is_err());
        let unknown = SerializedMessage::Cast { variant: "reboot".into(), args: vec![], metadata: None };
        assert!(WorkerMsg::deserialize(unknown).is_err());
    }
}
