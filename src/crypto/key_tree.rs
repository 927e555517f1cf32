//! A puncturable key tree (GGM): the part of a person's key that lives outside the database,
//! so that erasing them reaches the backups too (decision 0027).
//!
//! Every person key is sealed twice: inside, under a *leaf key* of this tree; outside, under
//! the service key. A leaf key is derived from the root by 32 one-way steps, one per bit of the
//! leaf's number, so the key store need not hold a key per person: it holds a *cover*, a few
//! node keys from which every leaf still alive can be derived. Erasing a person *punctures*
//! their leaf: the node covering it is replaced by the siblings along the path down to it.
//! Every other leaf derives exactly as before (so restoring an older database backup still
//! opens everyone else), and no node left can derive the punctured one (the steps are one-way),
//! so the copy of the person's sealed key in a backup, a dead tuple or a replica no longer opens
//! with anything the service holds.
//!
//! A puncture adds at most [`DEPTH`] nodes (32 bytes each) and removes one. This module is the
//! arithmetic only; the cover is stored by `store::key_store` outside the main database.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Leaves are numbered `0 .. 2^DEPTH`.
pub const DEPTH: u8 = 32;

/// One node key.
pub type NodeKey = [u8; 32];

/// A node of the tree: the leaves below it share the top `depth` bits, which are `prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub depth: u8,
    pub prefix: u64,
}

impl Node {
    pub const ROOT: Node = Node {
        depth: 0,
        prefix: 0,
    };

    /// The node at `depth` on the path from the root to `leaf`.
    pub fn above(leaf: u64, depth: u8) -> Node {
        Node {
            depth,
            prefix: leaf >> (DEPTH - depth),
        }
    }

    /// Whether `leaf` lies below this node.
    pub fn covers(&self, leaf: u64) -> bool {
        Node::above(leaf, self.depth) == *self
    }

    fn child(&self, bit: u64) -> Node {
        Node {
            depth: self.depth + 1,
            prefix: (self.prefix << 1) | bit,
        }
    }
}

/// Whether `leaf` is a valid leaf number.
pub fn is_leaf(leaf: u64) -> bool {
    leaf < (1u64 << DEPTH)
}

/// The nodes that could cover `leaf`, root first: a cover holds at most one of them.
pub fn path(leaf: u64) -> impl Iterator<Item = Node> {
    (0..=DEPTH).map(move |depth| Node::above(leaf, depth))
}

fn step(key: &NodeKey, bit: u64) -> NodeKey {
    // Keyed by the parent, so a child reveals nothing of its parent or sibling.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(b"declare/key-tree/1|");
    mac.update(&[bit as u8]);
    mac.finalize().into_bytes().into()
}

/// The key of `leaf`, derived from `node` (which must cover it) and its key.
pub fn derive(node: Node, key: &NodeKey, leaf: u64) -> Option<NodeKey> {
    if !is_leaf(leaf) || !node.covers(leaf) {
        return None;
    }
    let mut key = *key;
    for depth in node.depth..DEPTH {
        key = step(&key, (leaf >> (DEPTH - depth - 1)) & 1);
    }
    Some(key)
}

/// What replaces `node` (which covers `leaf`) when `leaf` is punctured: the sibling of each
/// node on the path below it, with their keys. Every other leaf under `node` is under exactly
/// one of them and derives the same key as before.
pub fn puncture(node: Node, key: &NodeKey, leaf: u64) -> Option<Vec<(Node, NodeKey)>> {
    if !is_leaf(leaf) || !node.covers(leaf) {
        return None;
    }
    let mut siblings = Vec::with_capacity(usize::from(DEPTH - node.depth));
    let (mut at, mut key) = (node, *key);
    for depth in node.depth..DEPTH {
        let bit = (leaf >> (DEPTH - depth - 1)) & 1;
        siblings.push((at.child(bit ^ 1), step(&key, bit ^ 1)));
        at = at.child(bit);
        key = step(&key, bit);
    }
    Some(siblings)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Cover(HashMap<Node, NodeKey>);

    impl Cover {
        fn new(root: NodeKey) -> Self {
            Cover(HashMap::from([(Node::ROOT, root)]))
        }
        fn leaf_key(&self, leaf: u64) -> Option<NodeKey> {
            path(leaf).find_map(|n| self.0.get(&n).and_then(|k| derive(n, k, leaf)))
        }
        fn puncture(&mut self, leaf: u64) {
            let Some(node) = path(leaf).find(|n| self.0.contains_key(n)) else {
                return;
            };
            let key = self.0.remove(&node).unwrap();
            self.0.extend(puncture(node, &key, leaf).unwrap());
        }
    }

    #[test]
    fn a_punctured_leaf_is_gone_and_every_other_derives_as_before() {
        let mut cover = Cover::new([7u8; 32]);
        let leaves: Vec<u64> = (0..64).chain([1 << 20, (1 << 32) - 1]).collect();
        let before: Vec<_> = leaves.iter().map(|&l| cover.leaf_key(l).unwrap()).collect();
        let erased = [3u64, 4, 5, 40, (1 << 32) - 1];
        for &leaf in &erased {
            cover.puncture(leaf);
            cover.puncture(leaf); // twice is harmless
        }
        for (leaf, key) in leaves.iter().zip(&before) {
            if erased.contains(leaf) {
                assert_eq!(cover.leaf_key(*leaf), None);
                // No node left derives it, whatever path an attacker walks from it.
                for (node, node_key) in &cover.0 {
                    assert!(derive(*node, node_key, *leaf).is_none());
                    assert!(!node.covers(*leaf));
                    assert_ne!(node_key, key);
                }
            } else {
                assert_eq!(cover.leaf_key(*leaf).as_ref(), Some(key));
            }
        }
        // Each puncture added at most DEPTH nodes and removed one.
        assert!(cover.0.len() <= 1 + erased.len() * usize::from(DEPTH));
    }

    #[test]
    fn distinct_leaves_and_roots_give_distinct_keys() {
        let root = [1u8; 32];
        let a = derive(Node::ROOT, &root, 0).unwrap();
        let b = derive(Node::ROOT, &root, 1).unwrap();
        let c = derive(Node::ROOT, &[2u8; 32], 0).unwrap();
        assert!(a != b && a != c && b != c);
        assert_eq!(derive(Node::ROOT, &root, 1 << 32), None);
        assert_eq!(derive(Node::above(5, 32), &root, 6), None);
    }
}
