//! Choosing one of several connections of a database entry: rendezvous (highest random
//! weight) or jump consistent hashing of the route's `routing.chooseKey`.
//!
//! The hash is FNV-1a with a SplitMix64 finaliser: stable across processes, platforms and
//! releases (unlike `std`'s hasher), so the same key always lands on the same backend.

use crate::config::HashAlgo;

/// The default `routing.chooseKey`.
pub const DEFAULT_TEMPLATE: &str = "{dbName}/{collection}";

/// The parts of a route a template can use.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    /// Database type.
    pub db_type: &'a str,
    /// Tier.
    pub tier: &'a str,
    /// Tenant id (empty outside the tenant tier).
    pub tenant_id: &'a str,
    /// Domain (empty outside the domain tier).
    pub domain: &'a str,
    /// Index database name.
    pub db_name: &'a str,
    /// Collection.
    pub collection: &'a str,
}

/// Fills a (checked) template with the parts of a route.
pub fn render(template: &str, parts: &KeyParts<'_>) -> String {
    template
        .replace("{dbType}", parts.db_type)
        .replace("{tier}", parts.tier)
        .replace("{tenantId}", parts.tenant_id)
        .replace("{domain}", parts.domain)
        .replace("{dbName}", parts.db_name)
        .replace("{collection}", parts.collection)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash(bytes: &[u8]) -> u64 {
    mix(fnv1a(bytes))
}

/// Index of the chosen name for `key` among `names` (0 when there is one or none).
pub fn choose(algo: HashAlgo, key: &str, names: &[String]) -> usize {
    if names.len() <= 1 {
        return 0;
    }
    match algo {
        HashAlgo::Rendezvous => names
            .iter()
            .enumerate()
            .max_by_key(|(_, name)| {
                let mut bytes = Vec::with_capacity(key.len() + name.len() + 1);
                bytes.extend_from_slice(key.as_bytes());
                bytes.push(0);
                bytes.extend_from_slice(name.as_bytes());
                hash(&bytes)
            })
            .map_or(0, |(i, _)| i),
        HashAlgo::Jump => jump(hash(key.as_bytes()), names.len()),
    }
}

/// Jump consistent hash (Lamping & Veach, 2014).
fn jump(mut key: u64, buckets: usize) -> usize {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    let n = i64::try_from(buckets).unwrap_or(i64::MAX);
    while j < n {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    usize::try_from(b).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("mongo-{i}")).collect()
    }

    #[test]
    fn spread_over_three_backends_is_within_ten_percent_of_even() {
        for algo in [HashAlgo::Rendezvous, HashAlgo::Jump] {
            let mut counts = [0usize; 3];
            for k in 0..10_000 {
                counts[choose(algo, &format!("tenant-{k}/users"), &names(3))] += 1;
            }
            let even = 10_000.0 / 3.0;
            for c in counts {
                assert!(
                    (c as f64 - even).abs() <= even * 0.1,
                    "{algo:?}: {counts:?}"
                );
            }
        }
    }

    #[test]
    fn same_key_same_backend_and_stable_values() {
        for algo in [HashAlgo::Rendezvous, HashAlgo::Jump] {
            for k in 0..100 {
                let key = format!("k{k}");
                assert_eq!(choose(algo, &key, &names(5)), choose(algo, &key, &names(5)));
            }
        }
        // Pinned values: a change of hash would move existing data to other backends.
        assert_eq!(hash(b"chronos"), mix(fnv1a(b"chronos")));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn adding_a_backend_moves_few_keys() {
        for algo in [HashAlgo::Rendezvous, HashAlgo::Jump] {
            let moved = (0..10_000)
                .filter(|k| {
                    let key = format!("key-{k}");
                    choose(algo, &key, &names(3)) != choose(algo, &key, &names(4))
                })
                .count();
            // Ideal: a quarter of the keys move to the new backend.
            assert!(moved < 3_000, "{algo:?} moved {moved}");
        }
    }

    #[test]
    fn templates() {
        assert!(crate::names::check_template(DEFAULT_TEMPLATE).is_ok());
        let parts = KeyParts {
            db_type: "runtime",
            tier: "tenant",
            tenant_id: "a",
            domain: "",
            db_name: "db",
            collection: "users",
        };
        assert_eq!(
            render("{tenantId}/{collection}@{dbType}", &parts),
            "a/users@runtime"
        );
    }
}
