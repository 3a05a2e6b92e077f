//! Which node of a cluster runs which worker actor (and adopts which order of
//! a lost node): rendezvous (highest-random-weight) hashing over the live
//! members.
//!
//! Every node computes the same answer from the same member list, with no
//! coordination; when a member joins or leaves, only the keys it wins or held
//! move. The database lease, not this function, is what makes ownership
//! exclusive: this only says who should try to take it.

/// The lease resource guarding which node runs the actor of `worker`.
pub fn worker_resource(worker: &crate::WorkerId) -> String {
    format!("worker/{worker}")
}

/// The weight of `member` for `key`; the member with the largest one owns the key.
pub fn weight(key: &str, member: &str) -> u64 {
    let mut h = FNV_OFFSET;
    for b in key.bytes().chain([0xff]).chain(member.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    mix(h)
}

/// The member that owns `key` among `members` (`None` when there are none).
/// Ties (practically impossible) go to the smaller name, so every node agrees.
pub fn owner<'a, S: AsRef<str>>(key: &str, members: &'a [S]) -> Option<&'a str> {
    members.iter().map(|m| m.as_ref()).max_by(|a, b| weight(key, a).cmp(&weight(key, b)).then_with(|| b.cmp(a)))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// splitmix64's finalizer: FNV alone spreads short similar keys poorly.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("node-{i}")).collect()
    }

    #[test]
    fn no_members_no_owner() {
        assert_eq!(owner::<String>("W1", &[]), None);
    }

    #[test]
    fn keys_spread_evenly() {
        let members = names(3);
        let mut count: HashMap<&str, usize> = HashMap::new();
        for i in 0..30_000 {
            *count.entry(owner(&format!("W{i}"), &members).unwrap_or_default()).or_default() += 1;
        }
        for m in &members {
            let c = count[m.as_str()];
            assert!((9_000..11_000).contains(&c), "{m} owns {c} of 30000");
        }
    }

    proptest! {
        /// Order of the member list does not matter: every node agrees.
        #[test]
        fn every_node_agrees(key in "[A-Za-z0-9]{1,12}", mut members in prop::collection::vec("[a-z]{1,6}", 1..8)) {
            let a = owner(&key, &members).map(str::to_string);
            members.reverse();
            prop_assert_eq!(a, owner(&key, &members).map(str::to_string));
        }

        /// A member leaving moves only the keys it owned.
        #[test]
        fn leaving_moves_only_the_leavers_keys(keys in prop::collection::vec("[A-Za-z0-9]{1,12}", 1..200),
                                               n in 2usize..7, gone in 0usize..7) {
            let members = names(n);
            let gone = &members[gone % n];
            let rest: Vec<String> = members.iter().filter(|m| *m != gone).cloned().collect();
            for k in &keys {
                let before = owner(k, &members).map(str::to_string);
                let after = owner(k, &rest).map(str::to_string);
                if before.as_deref() != Some(gone.as_str()) {
                    prop_assert_eq!(before, after);
                }
            }
        }

        /// A member joining takes keys only for itself.
        #[test]
        fn joining_moves_keys_only_to_the_joiner(keys in prop::collection::vec("[A-Za-z0-9]{1,12}", 1..200),
                                                 n in 1usize..7) {
            let members = names(n);
            let mut more = members.clone();
            more.push("node-new".into());
            for k in &keys {
                let before = owner(k, &members);
                let after = owner(k, &more);
                prop_assert!(after == before || after == Some("node-new"));
            }
        }
    }
}
